using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ActorLab.Model.Common;
using ActorLab.Model.Training;
using ActorLab.Model.Transformer;

namespace ActorLab.Actors.Sweeps;

/// <summary>One profiles dataset of a sweep (and its tokenizer): generated once, shared by all its runs.</summary>
public sealed record DatasetSpec(string Key, int NProfiles, int Relations, bool Bipartite, int Seed, int VocabSize, double? TargetBits);

/// <summary>One training run: a grid point. <see cref="RunId"/> is unique across sweeps ("sweep/run-name").</summary>
public sealed record RunSpec(
    string RunId,
    string RunName,
    string DatasetKey,
    int Layers,
    long ParamBudget,
    long NParams,
    int MinOrder,
    int MaxOrder,
    int Seed,
    int DataParallel);

/// <summary>
/// A sweep expanded into its datasets and runs (what the coordinator persists when the sweep is submitted, so
/// recovery never needs the sweep file again). <see cref="ContentHash"/> identifies the content: submitting the
/// same sweep twice is a no-op, a different sweep under a taken name is refused.
/// </summary>
public sealed record SweepSpec(
    string Name,
    string ContentHash,
    double HopRatio,
    TrainingSettings Training,
    ImmutableArray<DatasetSpec> Datasets,
    ImmutableArray<RunSpec> Runs);

/// <summary>Expands a <see cref="SweepDefinition"/> into datasets and runs.</summary>
public static class SweepPlanner
{
    /// <summary>
    /// <paramref name="solveN"/> finds the number of profiles whose 1-hop dataset entropy is closest to a target
    /// number of bits (SPEC 5, N solver) for a relation count; needed only when the sweep gives target-bits.
    /// </summary>
    public static SweepSpec Plan(SweepDefinition def, Func<double, int, int>? solveN = null)
    {
        var datasets = new Dictionary<string, DatasetSpec>();
        var runs = new List<RunSpec>();
        var sizes = def.TargetBits.IsEmpty
            ? def.NProfiles.Select(n => (N: n, Bits: (double?)null)).ToList()
            : null;
        foreach (var relations in def.Relations)
        {
            var sizesForR = sizes ?? def.TargetBits.Select(bits =>
            {
                if (solveN == null) throw new UserInputException("sweep.grid.target-bits needs the N solver; give n-profiles instead.");
                try { return (N: solveN(bits, relations), Bits: (double?)bits); }
                catch (UserInputException e) { throw new UserInputException($"sweep.grid.target-bits: {bits:G6} bits with {relations} relations: {e.Message}"); }
            }).ToList();
            foreach (var (n, bits) in sizesForR)
            {
                var ds = new DatasetSpec(
                    $"profiles_dataset_{n}_{(def.Bipartite ? "bipartite" : "uniform")}_r{relations}_s{def.DatasetSeed}_v{def.VocabSize}",
                    n, relations, def.Bipartite, def.DatasetSeed, def.VocabSize, bits);
                datasets.TryAdd(ds.Key, ds);
                foreach (var layers in def.Layers)
                foreach (var budget in def.ParamBudgets)
                foreach (var orders in def.Orders)
                foreach (var seed in def.Seeds)
                {
                    var nParams = ModelSizing.ParameterCount(budget, layers, def.VocabSize);
                    var name = RunName(def, n, relations, layers, nParams, orders.Min(), orders.Max());
                    if (def.Seeds.Length > 1 || seed != 0) name += $"_seed{seed}";
                    runs.Add(new RunSpec($"{def.Name}/{name}", name, ds.Key, layers, budget, nParams,
                        orders.Min(), orders.Max(), seed, def.Training.DataParallel));
                }
            }
        }
        var dup = runs.GroupBy(r => r.RunId).FirstOrDefault(g => g.Count() > 1);
        if (dup != null)
            throw new UserInputException($"sweep.grid: two grid points give the same run '{dup.Key}' (e.g. budgets that round to the same width).");

        var body = new SweepSpec(def.Name, "", def.HopRatio, def.Training,
            [.. datasets.Values.OrderBy(d => d.Key, StringComparer.Ordinal)], [.. runs]);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(body))))[..16];
        return body with { ContentHash = hash };
    }

    /// <summary>SPEC 4 run name (RunNaming), with the parameter count of the model the budget builds.</summary>
    static string RunName(SweepDefinition def, int n, int relations, int layers, long nParams, int minOrder, int maxOrder)
    {
        var t = def.Training;
        return RunNaming.Name(new RunConfig
        {
            RunName = "", Profiles = "", Tokenizer = "", NProfiles = n, Relations = relations, NParams = nParams, ParamBudget = 0,
            Layers = layers, MinOrder = minOrder, MaxOrder = maxOrder, HopRatio = def.HopRatio,
            Optimizer = t.Optimizer == "schedulefree" ? "schedulefree" : $"adamw_{t.Schedule}",
            Lr = t.Lr, Beta1 = t.Beta1, WeightDecay = t.WeightDecay,
        });
    }
}

/// <summary>Parameter count of the model a budget builds (SPEC 3), so run names carry the real count.</summary>
public static class ModelSizing
{
    /// <summary>With the planned vocabulary; a tokenizer that ends up smaller changes run.json's count, not the run id.</summary>
    public static long ParameterCount(long budget, int layers, int vocab) =>
        LlamaMupConfig.FromBudget(budget, layers, vocab).ParameterCount;
}
