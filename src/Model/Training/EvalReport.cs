using ActorLab.Model.Qa;

namespace ActorLab.Model.Training;

/// <summary>One training step: mean token loss (nats) over the batch's answer tokens.</summary>
public readonly record struct StepResult(long Step, double Loss, long Tokens, long AnswerTokens, double Lr);

/// <summary>Summed answer loss and question count for one subject.</summary>
public readonly record struct SubjectLoss(double LossSum, int Questions)
{
    public double Loss => Questions == 0 ? double.NaN : LossSum / Questions;
}

/// <summary>One eval mode: mean per-question loss in nats (summed over each question's answer tokens).</summary>
public sealed record ModeEval(EvalMode Mode, double Loss, int Questions, IReadOnlyDictionary<int, SubjectLoss> Subjects);

/// <summary>All eval modes at one step, with parameter_l2 = ||theta||_2 / sqrt(#params) at the eval point.</summary>
public sealed record EvalReport(long Step, double ParameterL2, IReadOnlyList<ModeEval> Modes)
{
    public ModeEval? this[EvalMode mode] => Modes.FirstOrDefault(m => m.Mode == mode);
}
