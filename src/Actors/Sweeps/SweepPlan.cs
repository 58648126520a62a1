using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ActorLab.Model.Capacity;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;
using ActorLab.Model.Transformer;

namespace ActorLab.Actors.Sweeps;

/// <summary>
/// A sweep expanded into its datasets and runs: what the coordinator journals when the sweep is submitted, so
/// recovery never needs the sweep file again. Every run is a full <see cref="RunConfig"/>; datasets are named by
/// content. <see cref="ContentHash"/> identifies the whole plan: submitting the same sweep twice is a no-op, a
/// different sweep under a taken name is refused.
/// </summary>
public sealed record SweepPlan(string Name, string ContentHash, ImmutableArray<DatasetConfig> Datasets, ImmutableArray<RunConfig> Runs)
{
    /// <summary>How the finished sweep is measured.</summary>
    public SweepMeasure Measure { get; init; } = SweepMeasure.Default;
    /// <summary>Data-parallel runs may spread over nodes.</summary>
    public bool AllowCrossNode { get; init; }
}

/// <summary>Expands a <see cref="SweepDefinition"/> into datasets and runs.</summary>
public static class SweepPlanner
{
    /// <summary>
    /// <paramref name="solveN"/> finds the number of profiles whose 1-hop dataset entropy is closest to a target
    /// number of bits (SPEC 5, N solver) for a relation count; by default the N solver on the sweep's value lists.
    /// </summary>
    public static SweepPlan Plan(SweepDefinition def, Func<double, int, int>? solveN = null)
    {
        var lists = def.ListsDir is null ? ValueLists.Default : ValueLists.FromDirectory(def.ListsDir);
        solveN ??= (bits, r) => NSolver.Solve(bits, r, ValueListSizes.Of(lists), SelectionScheme.Optimal).N;
        // a budget below the smallest model would silently give the same width-16 model as any other
        foreach (var layers in def.Layers)
        foreach (var budget in def.ParamBudgets.Where(b => b < LlamaMupConfig.MinBudget(layers)))
            throw new UserInputException($"sweep.grid.param-budgets: {budget} is below the smallest model's budget with {layers} layers, {LlamaMupConfig.MinBudget(layers)} " +
                                         "(width d = floor(sqrt((P - 320000) / (12 L))) in 16s, at least 16).");
        var datasets = new Dictionary<string, DatasetConfig>();
        var runs = new List<RunConfig>();
        foreach (var relations in def.Relations)
        {
            CheckSeqLen(def, relations, lists);
            var sizes = def.TargetBits.IsEmpty
                ? def.NProfiles.Select(n => (N: n, Bits: (double?)null)).ToList()
                : def.TargetBits.Select(bits =>
                {
                    try { return (N: solveN(bits, relations), Bits: (double?)bits); }
                    catch (UserInputException e) { throw new UserInputException($"sweep.grid.target-bits: {bits:G6} bits with {relations} relations: {e.Message}"); }
                }).ToList();
            foreach (var (n, bits) in sizes)
            {
                var ds = DatasetConfig.Of(n, relations, def.Bipartite, def.DatasetSeed, def.VocabSize, lists, def.ListsDir, bits);
                datasets.TryAdd(ds.Id, ds);
                foreach (var layers in def.Layers)
                foreach (var budget in def.ParamBudgets)
                foreach (var orders in def.Orders)
                foreach (var seed in def.Seeds)
                {
                    var run = (def.Template with
                    {
                        Sweep = def.Name,
                        Dataset = ds,
                        NProfiles = n,
                        Relations = relations,
                        Bipartite = def.Bipartite,
                        Layers = layers,
                        ParamBudget = budget,
                        NParams = LlamaMupConfig.FromBudget(budget, layers, def.VocabSize).ParameterCount,
                        MinOrder = orders.Min(),
                        MaxOrder = orders.Max(),
                        Seed = seed,
                    }).Named();
                    if (def.Seeds.Length > 1 || seed != 0) run = run with { RunName = run.RunName + $"_seed{seed}" };
                    RunStorage.CheckName(run.RunName, "run");
                    // refuse, at submission, a run that no accelerator could hold (the trainer checks its own device again)
                    var memory = Memory(run, def.VocabSize);
                    if (memory.TotalBytes > MemoryEstimate.AcceleratorBytes)
                        throw new UserInputException($"sweep: run {run.RunName} (batch-size {run.BatchSize} x seq-len {run.SeqLen}, {layers} layers, budget {budget}) " +
                                                     $"needs about {MemoryEstimate.Format(memory.TotalBytes)} per replica, more than any device ({MemoryEstimate.Format(MemoryEstimate.AcceleratorBytes)}); use a smaller batch, sequence or model.");
                    runs.Add(run);
                }
            }
        }
        var dup = runs.GroupBy(r => r.RunId).FirstOrDefault(g => g.Count() > 1);
        if (dup != null)
            throw new UserInputException($"sweep.grid: two grid points give the same run '{dup.Key}' (e.g. budgets that round to the same width).");

        var body = new SweepPlan(def.Name, "", [.. datasets.Values.OrderBy(d => d.Id, StringComparer.Ordinal)], [.. runs]);
        // the measure settings count only when set, so a sweep without a measure block keeps the hash it always had
        var json = JsonSerializer.Serialize(body, RunConfig.Json) + (def.Measure.IsDefault ? "" : "\nmeasure " + def.Measure)
                   + (def.AllowCrossNode ? "\nallow-cross-node" : "");
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)))[..16];
        return body with { ContentHash = hash, Measure = def.Measure, AllowCrossNode = def.AllowCrossNode };
    }

    /// <summary>
    /// Refuses, at planning, a seq-len that certainly cannot hold one question of the grid point's datasets (the rule of
    /// <see cref="QaStream.MinSeqLen"/> on <see cref="QaTokenCache.MaxQuestionTokensLowerBound"/>, which is never above
    /// what the trained tokenizer gives, so a sweep that would train is never refused; the run start checks the exact figure).
    /// </summary>
    static void CheckSeqLen(SweepDefinition def, int relations, ValueLists lists)
    {
        int bound = QaTokenCache.MaxQuestionTokensLowerBound(relations, lists);
        int needed = QaStream.MinSeqLen(bound);
        if (def.Template.SeqLen < needed)
            throw new UserInputException($"sweep.seq-len: {def.Template.SeqLen} is too short for one question at grid point relations = {relations}: " +
                                         $"whatever the tokenizer, its longest question takes at least {bound} tokens, so a sequence needs at least {needed} " +
                                         "(BOS + the question + one answer token); raise seq-len.");
    }

    /// <summary>
    /// Disk the sweep writes (<see cref="DiskEstimate"/>): every run's checkpoints and logs, every distinct dataset's
    /// cached files, and the sweep's own (capacity tables and plots: 2 MiB per scheme x selection scheme, measured
    /// 1.2 MiB; journal events and node log: 256 KiB + 16 KiB a run).
    /// With <paramref name="existing"/>, what is already there is not counted again (a resumed sweep): datasets whose
    /// profiles are cached, and the bytes already in each run's folder.
    /// </summary>
    public static DiskEstimate Disk(SweepPlan plan, int vocabSize, RunStorage? existing = null)
    {
        long tables = (2L << 20) * plan.Measure.Schemes.Length * plan.Measure.SelectionSchemes.Length;
        var total = new DiskEstimate(0, tables + (256L << 10) + (16L << 10) * plan.Runs.Length, 0);
        foreach (var d in plan.Datasets)
            if (existing is null || !File.Exists(existing.ProfilesPath(d)))
                total = total.Plus(DiskEstimate.ForDataset(d));
        // a sweep's runs share a few schedules: count each once, not once per run (a long eval list in a big grid)
        var schedules = new Dictionary<(CheckpointSchedule, long, long, int), DiskEstimate.ScheduleCounts>();
        foreach (var run in plan.Runs)
        {
            var key = (run.EvalSchedule, run.MaxSteps, run.CheckpointEvery, run.KeepLast);
            if (!schedules.TryGetValue(key, out var counts)) schedules[key] = counts = DiskEstimate.CountsOf(run);
            var e = DiskEstimate.ForRun(TrainerCore.PlanModel(run, vocabSize), run, counts);
            if (existing is not null && Directory.Exists(existing.RunDir(run.RunId)))
            {
                long there = new DirectoryInfo(existing.RunDir(run.RunId)).EnumerateFiles("*", OwnFiles).Sum(f => f.Length);
                long fromCheckpoints = Math.Min(there, e.CheckpointBytes);
                e = e with { CheckpointBytes = e.CheckpointBytes - fromCheckpoints, LogBytes = Math.Max(0, e.LogBytes - (there - fromCheckpoints)) };
            }
            total = total.Plus(e);
        }
        return total;
    }

    static readonly EnumerationOptions OwnFiles = new() { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint };

    /// <summary>Peak memory of one replica of a run (the model its budget and layers build at the sweep's vocabulary).</summary>
    public static MemoryEstimate Memory(RunConfig run, int vocabSize) =>
        MemoryEstimate.ForTraining(TrainerCore.PlanModel(run, vocabSize), run.BatchSize, run.SeqLen);
}
