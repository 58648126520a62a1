using System.Globalization;
using ActorLab.Model.Qa;
using TorchSharp.Modules;
using static TorchSharp.torch.utils;

namespace ActorLab.Model.Training;

/// <summary>
/// TensorBoard event files of a run (TorchSharp's SummaryWriter), so `tensorboard --logdir` over a sweep folder
/// compares runs: train loss (nats per answer token), lr and tokens/s every <see cref="Every"/> steps, every eval
/// mode's loss (nats per question) and the parameter L2 norm at each eval. One event file per attempt (the name carries
/// the epoch); TensorBoard merges them by step. SummaryWriter opens and appends the file per event, so train scalars
/// are thinned: a 1e7-step run would otherwise write 30 million events.
/// </summary>
public sealed class TensorBoardLog(string dir, long? epoch, int every = TensorBoardLog.DefaultEvery)
{
    public const int DefaultEvery = 10;
    public int Every { get; } = Math.Max(1, every);

    readonly SummaryWriter _writer = tensorboard.SummaryWriter(dir, filename_suffix: epoch is { } e ? string.Create(CultureInfo.InvariantCulture, $"e{e}") : null);

    public void Step(StepResult r, double tokensPerSecond)
    {
        if (r.Step % Every != 0) return;
        var step = checked((int)r.Step);
        _writer.add_scalar("train/loss_nats_per_token", (float)r.Loss, step);
        _writer.add_scalar("train/lr", (float)r.Lr, step);
        _writer.add_scalar("train/tokens_per_s", (float)tokensPerSecond, step);
    }

    public void Evaluated(EvalReport report)
    {
        var step = checked((int)report.Step);
        foreach (var m in report.Modes)
            _writer.add_scalar($"eval/{m.Mode.Name()}_nats_per_question", (float)m.Loss, step);
        _writer.add_scalar("model/parameter_l2", (float)report.ParameterL2, step);
    }
}
