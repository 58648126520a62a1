using ActorLab.Model.Qa;

namespace ActorLab.Model.Training;

/// <summary>One training step: mean token loss (nats) over the batch's answer tokens.</summary>
public readonly record struct StepResult(long Step, double Loss, long Tokens, long AnswerTokens, double Lr);

/// <summary>Summed answer loss and question count for one subject.</summary>
public readonly record struct SubjectLoss(double LossSum, int Questions)
{
    public double Loss => Questions == 0 ? double.NaN : LossSum / Questions;
}

/// <summary>Per-question losses (nats) counted in bins of <see cref="Width"/>; the last bin also holds everything above.</summary>
public sealed class LossHistogram
{
    public const double Width = 0.25;
    public const int Bins = 160; // 0..40 nats: a 2-hop name answer of a fresh model costs ~25

    public long[] Counts { get; } = new long[Bins];

    public void Add(double loss) => Counts[Math.Clamp((int)(loss / Width), 0, Bins - 1)]++;
}

/// <summary>
/// One eval mode: mean per-question loss in nats (summed over each question's answer tokens); subject-wise
/// re-evaluation also keeps a per-question loss histogram per subject.
/// </summary>
public sealed record ModeEval(EvalMode Mode, double Loss, int Questions, IReadOnlyDictionary<int, SubjectLoss> Subjects,
    IReadOnlyDictionary<int, LossHistogram>? Histograms = null);

/// <summary>All eval modes at one step, with parameter_l2 = ||theta||_2 / sqrt(#params) at the eval point.</summary>
public sealed record EvalReport(long Step, double ParameterL2, IReadOnlyList<ModeEval> Modes)
{
    public ModeEval? this[EvalMode mode] => Modes.FirstOrDefault(m => m.Mode == mode);
}
