using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Transformer;

namespace ActorLab.Model.Training;

/// <summary>
/// Disk a run (or a whole sweep) writes, estimated from its settings before anything is written, in the shape of
/// <see cref="MemoryEstimate"/>: a sweep that cannot fit the free space of its file system is refused with the figures
/// instead of filling the disk half-way through. From the shapes and schedules alone:
/// - checkpoints: the most that are on disk at once, times one checkpoint's size. A run keeps every checkpoint on its
///   eval schedule and the newest keep-last of the others (one more while the next is written before the prune), and
///   the final one; a checkpoint is the weights (4 P bytes), the optimiser's two fp32 buffers per parameter (8 P),
///   safetensors headers, trainer.json (run settings with the eval schedule's steps, torch's RNG state), the manifest,
///   the eval history it carries and, for a run that trains 2-hop questions, the held-out splits (about 2 N R bytes);
/// - run logs: progress.csv (a row per step and per checkpoint), TensorBoard scalars (every 10 steps and every eval),
///   eval results (per eval and mode; per subject too when subject-wise), run.json;
/// - datasets, once per distinct dataset: the profiles parquet (about 64 + 20 R bytes a profile, measured 82..383) and
///   the tokenizer files (about 64 bytes per vocabulary entry, measured 35..45).
/// It covers one uninterrupted lease per run: checkpoints of an interrupted lease stay beside the next lease's.
/// </summary>
public sealed record DiskEstimate(long CheckpointBytes, long LogBytes, long DatasetBytes)
{
    public long TotalBytes => Sum(CheckpointBytes, LogBytes, DatasetBytes);

    public static readonly DiskEstimate Zero = new(0, 0, 0);

    public DiskEstimate Plus(DiskEstimate o) =>
        new(Sum(CheckpointBytes, o.CheckpointBytes), Sum(LogBytes, o.LogBytes), Sum(DatasetBytes, o.DatasetBytes));

    /// <summary>
    /// Checkpoints and logs of one run of <paramref name="model"/> (its dataset is counted by <see cref="ForDataset"/>).
    /// <paramref name="counts"/>: <see cref="CountsOf"/> of the run, when the caller shares it between runs of one schedule.
    /// </summary>
    public static DiskEstimate ForRun(LlamaMupConfig model, RunConfig run, ScheduleCounts? counts = null)
    {
        var (evals, resident, checkpoints) = counts ?? CountsOf(run);
        double p = model.ParameterCount, tensors = 9.0 * model.Layers + 3;
        int subjects = Subjects.Count(run.Relations), modes = run.TrainsTwoHop ? EvalModes : 1;
        const double header = 192; // one tensor's safetensors header entry (name, dtype, shape, offsets)
        double evalRows = evals * modes * (120 + (run.SubjectwiseEvals ? 100.0 * subjects : 0));
        double perCheckpoint = 4 * p + tensors * header    // model.safetensors
                               + 8 * p + 2 * tensors * header // optimizer.safetensors
                               + 16 * 1024 + 24.0 * run.EvalSchedule.Steps.Count // trainer.json
                               + 1024                      // manifest.json
                               + evalRows                  // the eval history it carries
                               + (run.TrainsTwoHop ? 2.0 * run.NProfiles * run.Relations + run.NProfiles + 256 : 0);
        double progress = 120.0 * (run.MaxSteps + checkpoints + 1);
        double tensorboard = 1024 + 80.0 * 3 * (run.MaxSteps / TensorBoardLog.DefaultEvery + 1) + 80.0 * evals * (modes + 1);
        double runJson = 8 * 1024 + 24.0 * run.EvalSchedule.Steps.Count;
        // eval results: the lease's file and the published copy
        return new DiskEstimate(Bytes(resident * perCheckpoint), Bytes(progress + tensorboard + 2 * evalRows + runJson), 0);
    }

    /// <summary>The cached files of one dataset: its profiles parquet and its tokenizer.</summary>
    public static DiskEstimate ForDataset(DatasetConfig d) =>
        new(0, 0, Bytes(16 * 1024 + (double)d.NProfiles * (64 + 20.0 * d.Relations) + 4 * 1024 + 64.0 * d.VocabSize));

    const int EvalModes = 9;

    /// <summary>Evals, checkpoints on disk at the peak, and checkpoints written, of one uninterrupted run to its step cap.</summary>
    public readonly record struct ScheduleCounts(double Evals, double Resident, double Written);

    /// <summary>What depends only on a run's schedule (eval steps, step cap, checkpoint period, keep-last): a sweep's runs share it.</summary>
    public static ScheduleCounts CountsOf(RunConfig run)
    {
        long max = run.MaxSteps;
        var schedule = run.EvalSchedule;
        // eval steps before the cap: the listed ones, then every Every steps after the last listed one
        double due = schedule.Steps.Count(s => s < max);
        long last = schedule.Steps.Count > 0 ? schedule.Steps[^1] : 0;
        if (schedule.Every > 0) due += CountCongruent(last + 1, max - 1, schedule.Every, schedule.Offset);
        // periodic checkpoints before the cap that are not eval steps (counted once: those are kept anyway)
        double periodic = 0;
        if (run.CheckpointEvery > 0)
        {
            periodic = CountCongruent(1, max - 1, run.CheckpointEvery, 0);
            periodic -= schedule.Steps.Count(s => s < max && s % run.CheckpointEvery == 0);
            if (schedule.Every > 0 && run.CheckpointEvery % schedule.Every == 0 && (0 - schedule.Offset) % schedule.Every == 0)
                periodic -= CountCongruent(last + 1, max - 1, run.CheckpointEvery, 0);
            periodic = Math.Max(0, periodic);
        }
        double evals = due + 1; // and the final eval
        double resident = due + Math.Min(run.KeepLast + 1.0, periodic + 1); // the final checkpoint among the newest
        return new ScheduleCounts(evals, resident, due + periodic + 1);
    }

    /// <summary>How many steps in [from, to] are congruent to <paramref name="offset"/> modulo <paramref name="every"/>.</summary>
    static double CountCongruent(long from, long to, long every, long offset)
    {
        if (to < from || every <= 0) return 0;
        long r = ((offset % every) + every) % every;
        long first = from + ((r - from % every) % every + every) % every;
        return first > to ? 0 : (to - first) / every + 1;
    }

    /// <summary>
    /// Free bytes on the file system that holds <paramref name="path"/>, or would hold it: the nearest existing
    /// ancestor's (statvfs through <see cref="DriveInfo"/>).
    /// </summary>
    public static long FreeBytes(string path)
    {
        var dir = Path.GetFullPath(path);
        while (!Directory.Exists(dir) && Path.GetDirectoryName(dir) is { } parent) dir = parent;
        return new DriveInfo(dir).AvailableFreeSpace;
    }

    /// <summary>
    /// Refuses an estimate larger than the free space at <paramref name="dir"/> (<paramref name="freeBytes"/> when given,
    /// else <see cref="FreeBytes"/>), naming <paramref name="what"/> and both figures.
    /// </summary>
    public void CheckFits(string dir, string what, long? freeBytes = null)
    {
        long free = freeBytes ?? FreeBytes(dir);
        if (TotalBytes <= free) return;
        throw new UserInputException(
            $"{what} needs about {Describe()} of disk, more than the {MemoryEstimate.Format(free)} free on the file system of '{dir}'; " +
            "free space, use another folder, or write fewer or smaller checkpoints (checkpoint.keep-last, eval.steps, a smaller model or grid).");
    }

    /// <summary>
    /// Refuses an estimate that does not fit where it goes: the runs' checkpoints and logs under the storage root
    /// <paramref name="resultsDir"/>, the datasets under the data dir <paramref name="cacheDir"/> (together when they
    /// are the same folder). <paramref name="freeBytes"/> replaces <see cref="FreeBytes"/> (tests).
    /// </summary>
    public void CheckFits(string resultsDir, string cacheDir, string what, Func<string, long>? freeBytes = null)
    {
        freeBytes ??= FreeBytes;
        if (Path.GetFullPath(resultsDir) == Path.GetFullPath(cacheDir))
        {
            CheckFits(cacheDir, what, freeBytes(cacheDir));
            return;
        }
        (this with { DatasetBytes = 0 }).CheckFits(resultsDir, what + "'s runs", freeBytes(resultsDir));
        (Zero with { DatasetBytes = DatasetBytes }).CheckFits(cacheDir, what + "'s datasets", freeBytes(cacheDir));
    }

    /// <summary>"1.2 GiB (checkpoints 1.1 GiB, logs 3 MiB, datasets 80 MiB)".</summary>
    public string Describe() =>
        $"{MemoryEstimate.Format(TotalBytes)} (checkpoints {MemoryEstimate.Format(CheckpointBytes)}, logs {MemoryEstimate.Format(LogBytes)}, datasets {MemoryEstimate.Format(DatasetBytes)})";

    static long Bytes(double b) => b >= long.MaxValue ? long.MaxValue : (long)Math.Ceiling(Math.Max(0, b));

    static long Sum(params long[] parts)
    {
        long total = 0;
        foreach (var x in parts) total = total > long.MaxValue - x ? long.MaxValue : total + x;
        return total;
    }
}
