using System.Globalization;

namespace ActorLab.Model.Training;

/// <summary>
/// progress.csv of a run (one file per lease epoch in sweeps): a row when a replica starts, one per step trained
/// (train loss in nats per answer token, lr, tokens/s) and one per checkpoint. Appended and flushed at
/// checkpoints, so after a crash it shows what was trained since the last checkpoint too.
/// </summary>
public sealed class ProgressCsv : IDisposable
{
    public const string Header = "epoch,kind,step,loss,lr,tokens_per_s,time";
    readonly StreamWriter _w;
    readonly long _epoch;

    public ProgressCsv(string path, long? epoch)
    {
        _epoch = epoch ?? 0;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var exists = File.Exists(path) && new FileInfo(path).Length > 0;
        _w = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read));
        if (!exists) _w.WriteLine(Header);
    }

    /// <summary>Where this lease started, on disk at once (steps are flushed with each checkpoint).</summary>
    public void Start(long step)
    {
        Row("start", step, double.NaN, double.NaN, double.NaN);
        _w.Flush();
    }

    public void Step(StepResult r, double tokensPerSecond) => Row("step", r.Step, r.Loss, r.Lr, tokensPerSecond);

    public void Checkpoint(long step, double loss)
    {
        Row("checkpoint", step, loss, double.NaN, double.NaN);
        _w.Flush();
    }

    void Row(string kind, long step, double loss, double lr, double tps) =>
        _w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_epoch},{kind},{step},{loss:R},{lr:R},{tps:F0},{DateTimeOffset.UtcNow:O}"));

    public void Flush() => _w.Flush();

    public void Dispose() => _w.Dispose();
}
