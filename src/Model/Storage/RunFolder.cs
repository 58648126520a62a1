using System.Globalization;
using ActorLab.Model.Common;
using ActorLab.Model.Training;

namespace ActorLab.Model.Storage;

/// <summary>A checkpoint as the journal records it: its step, the lease epoch that wrote it, its manifest's SHA-256.</summary>
public sealed record CheckpointRef(long Step, long? Epoch, string Sha256);

/// <summary>
/// The files of one run folder, as written under one lease epoch (null: a run of `actorlab train`, which has no
/// leases). Everything a lease writes carries its epoch in the name (eval_results.e7.csv, progress.e7.csv,
/// checkpoints/step_1000.e7), so a stale holder of an old lease can never overwrite what the current one wrote,
/// and readers pick the epoch the journal names. Unfenced runs use the reference's plain names.
/// </summary>
public sealed class RunFolder(string dir, long? epoch)
{
    public string Dir { get; } = Path.GetFullPath(dir);
    public long? Epoch { get; } = epoch;

    string Suffix => Epoch is { } e ? string.Create(CultureInfo.InvariantCulture, $".e{e}") : "";

    public string RunJson => Path.Combine(Dir, RunConfig.FileName);
    /// <summary>eval_results.csv (reference columns), per epoch.</summary>
    public string EvalResults => Path.Combine(Dir, $"eval_results{Suffix}.csv");
    /// <summary>eval_results_full.csv (per subject), per epoch.</summary>
    public string EvalResultsFull => Path.Combine(Dir, $"eval_results_full{Suffix}.csv");
    /// <summary>The published files `measure` reads (the completing epoch's, copied by measurement).</summary>
    public string PublishedEvalResults => Path.Combine(Dir, EvalResultsCsv.FileName);
    public string PublishedEvalResultsFull => Path.Combine(Dir, EvalResultsCsv.FullFileName);
    /// <summary>progress.csv: one row per step and checkpoint, per epoch.</summary>
    public string Progress => Path.Combine(Dir, $"progress{Suffix}.csv");
    public string CheckpointsDir => Path.Combine(Dir, Checkpoints.Folder);
    /// <summary>tensorboard/: the run's event files (one per epoch), for `tensorboard --logdir` over a sweep.</summary>
    public string TensorBoard => Path.Combine(Dir, "tensorboard");

    /// <summary>checkpoints/step_{step}[.e{epoch}].</summary>
    public string CheckpointDir(long step, long? epoch) => Path.Combine(CheckpointsDir, Checkpoints.DirName(step, epoch));

    public string CheckpointDir(CheckpointRef c) => CheckpointDir(c.Step, c.Epoch);

    /// <summary>The same run folder under another epoch.</summary>
    public RunFolder AtEpoch(long? e) => new(Dir, e);

    /// <summary>
    /// Copies this epoch's eval results to the plain eval_results.csv (and _full) `measure` reads, after checking them
    /// against the SHA-256 the journal accepted: what a stale lease wrote is never read.
    /// </summary>
    public void PublishResults(string? expectedSha256)
    {
        if (!File.Exists(EvalResults))
            throw new UserInputException($"run {Dir}: its accepted eval results {Path.GetFileName(EvalResults)} are missing");
        var actual = FileHash.Sha256(EvalResults);
        if (expectedSha256 != null && actual != expectedSha256)
            throw new UserInputException($"run {Dir}: {Path.GetFileName(EvalResults)} is not the file the journal accepted (SHA-256 {actual[..12]}..., recorded {expectedSha256[..Math.Min(12, expectedSha256.Length)]}...)");
        if (EvalResults == PublishedEvalResults) return;
        AtomicFile.WriteAllBytes(PublishedEvalResults, File.ReadAllBytes(EvalResults));
        if (File.Exists(EvalResultsFull)) AtomicFile.WriteAllBytes(PublishedEvalResultsFull, File.ReadAllBytes(EvalResultsFull));
    }

    /// <summary>stale/: files set aside by <see cref="SetAsideStale"/>, one folder per epoch and time.</summary>
    public string StaleDir => Path.Combine(Dir, "stale");

    /// <summary>
    /// Files that already carry this epoch's names before its lease wrote anything. Epochs are unique within one
    /// journal, so they were left by a journal that was lost or replaced (a fresh one counts epochs from 1 again);
    /// written over, they would mix two lives of the run (and pruning this epoch's checkpoints would delete the new
    /// ones). They are moved, never deleted, to stale/e{epoch}.{utc}/ under their own names; returns that folder,
    /// or null when there was nothing (always, without an epoch).
    /// </summary>
    public string? SetAsideStale()
    {
        if (Epoch is not { } epoch || !Directory.Exists(Dir)) return null;
        var stale = new List<string>();
        foreach (var f in new[] { EvalResults, EvalResultsFull, Progress })
            if (File.Exists(f)) stale.Add(f);
        stale.AddRange(Checkpoints.ListWithEpochs(Dir).Where(c => c.Epoch == epoch).Select(c => c.Dir));
        var tag = string.Create(CultureInfo.InvariantCulture, $"e{epoch}");
        if (Directory.Exists(TensorBoard))
            stale.AddRange(Directory.GetFiles(TensorBoard).Where(f => Path.GetFileName(f).Split('.')[^1] == tag));
        if (stale.Count == 0) return null;
        var to = Path.Combine(StaleDir, string.Create(CultureInfo.InvariantCulture, $"{tag}.{DateTime.UtcNow:yyyyMMddTHHmmssfffZ}"));
        foreach (var from in stale)
        {
            var target = Path.Combine(to, Path.GetRelativePath(Dir, from));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (Directory.Exists(from)) Directory.Move(from, target);
            else File.Move(from, target);
        }
        return to;
    }

    /// <summary>Every progress file of the run (all epochs), oldest epoch first.</summary>
    public IReadOnlyList<(long? Epoch, string Path)> ProgressFiles()
    {
        if (!Directory.Exists(Dir)) return [];
        var files = new List<(long?, string)>();
        foreach (var f in Directory.GetFiles(Dir, "progress*.csv"))
        {
            var name = Path.GetFileName(f);
            if (name == "progress.csv") files.Add((null, f));
            else if (name.StartsWith("progress.e", StringComparison.Ordinal) &&
                     long.TryParse(name["progress.e".Length..^".csv".Length], NumberStyles.None, CultureInfo.InvariantCulture, out var e))
                files.Add((e, f));
        }
        return files.OrderBy(x => x.Item1 ?? -1).ToList();
    }
}
