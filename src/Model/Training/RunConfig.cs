using System.Text.Json;
using System.Text.Json.Serialization;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;

namespace ActorLab.Model.Training;

/// <summary>
/// SPEC 5's convergence rule as a sweep sets it: whether a run stops early when converged (<see cref="Enabled"/>),
/// and the rule's min-step and threshold, which the sweep's measurement also judges its runs by.
/// </summary>
public sealed record ConvergenceSettings(bool Enabled = true, long MinStep = 1_000_000, double Threshold = 2e-8)
{
    [JsonIgnore]
    public Capacity.ConvergenceConfig Rule => Capacity.ConvergenceConfig.Default with { MinStep = MinStep, Threshold = Threshold };
}

/// <summary>
/// The one description of a run, from sweep file to `run.json`: what data it trains on, the model, the optimiser,
/// the batch, how long, when it evaluates and checkpoints, when it stops. A sweep file's settings become a
/// template of this record and every grid point a copy with its own values (<c>with</c>); the coordinator journals
/// it; the trainer writes it as run.json; `measure`, `eval` and `probe` read it back. JSON names are snake_case and
/// only ever gain fields (with defaults), so older run.json files keep loading.
/// </summary>
public sealed record RunConfig
{
    public const int CurrentVersion = 2;
    public int Version { get; init; } = CurrentVersion;

    /// <summary>The sweep the run belongs to; null for a run of `actorlab train`.</summary>
    public string? Sweep { get; init; }
    public required string RunName { get; init; }

    /// <summary>The dataset by content (sweep runs): every node builds or finds it from this.</summary>
    public DatasetConfig? Dataset { get; init; }
    /// <summary>Explicit profiles parquet and tokenizer folder (runs of `actorlab train`); null for sweep runs.</summary>
    public string? Profiles { get; init; }
    public string? Tokenizer { get; init; }
    public required int NProfiles { get; init; }
    public required int Relations { get; init; }
    public bool Bipartite { get; init; }

    /// <summary>The real parameter count of the model (not the budget).</summary>
    public required long NParams { get; init; }
    public required long ParamBudget { get; init; }
    public required int Layers { get; init; }

    public required int MinOrder { get; init; }
    public required int MaxOrder { get; init; }
    public double HopRatio { get; init; } = 0.1;
    public bool Curriculum { get; init; }
    public bool Cot { get; init; }

    public string Optimizer { get; init; } = "schedulefree";
    public double Lr { get; init; } = 1e-3;
    public double Beta1 { get; init; } = 0.99;
    public double Beta2 { get; init; } = 0.999;
    public double WeightDecay { get; init; } = 0.1;
    public int WarmupSteps { get; init; } = 1000;

    public int BatchSize { get; init; } = 32;
    public int SeqLen { get; init; } = 512;
    public long MaxSteps { get; init; }
    public int Seed { get; init; }

    /// <summary>Eval (and checkpoint) steps; the final step is always evaluated and checkpointed too.</summary>
    public CheckpointSchedule EvalSchedule { get; init; } = CheckpointSchedule.Reference;
    /// <summary>Questions per eval mode (at least); per subject of each mode in subject-wise evals.</summary>
    public int EvalQuestions { get; init; } = 1000;
    /// <summary>Each eval also asks every subject of every mode (eval_results_full.csv); about 4 + R times the cost.</summary>
    public bool SubjectwiseEvals { get; init; } = true;
    /// <summary>Extra checkpoints between evals every this many steps, for crash safety (0: only at evals).</summary>
    public long CheckpointEvery { get; init; }
    /// <summary>Checkpoints kept besides the eval-schedule ones.</summary>
    public int KeepLast { get; init; } = 3;
    public ConvergenceSettings Convergence { get; init; } = new();
    /// <summary>Replicas that all-reduce gradients every step; the effective batch is BatchSize x DataParallel.</summary>
    public int DataParallel { get; init; } = 1;

    /// <summary>The device the run last trained on (informational).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>"sweep/run" for sweep runs, the run name otherwise: unique across sweeps.</summary>
    [JsonIgnore]
    public string RunId => Sweep is null ? RunName : $"{Sweep}/{RunName}";

    /// <summary>Question orders trained, e.g. [1, 2].</summary>
    [JsonIgnore]
    public int[] Orders => Enumerable.Range(MinOrder, MaxOrder - MinOrder + 1).ToArray();

    [JsonIgnore]
    public bool TrainsTwoHop => MaxOrder >= 2;

    /// <summary>The run with its SPEC 4 name derived from its settings.</summary>
    public RunConfig Named() => this with { RunName = RunNaming.Name(this) };

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public const string FileName = "run.json";

    // settings a run may change between sessions: how long and where it trains, how often it is looked at, what
    // is derived (n_params: from the budget, layers and the vocab, which resume checks on its own)
    static readonly HashSet<string> NotIdentity =
        ["version", "n_params", "max_steps", "device", "eval_schedule", "eval_questions", "subjectwise_evals", "checkpoint_every", "keep_last", "convergence", "profiles", "tokenizer"];

    /// <summary>
    /// What the run trains, as name -> JSON value: every setting whose change would mix two different runs into
    /// one model (batch size, sequence length, optimiser, data, seed, ...). Resuming checks it against the checkpoint.
    /// </summary>
    public SortedDictionary<string, string> Identity()
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(this, Json))!.AsObject();
        return new SortedDictionary<string, string>(node.Where(kv => !NotIdentity.Contains(kv.Key))
            .ToDictionary(kv => kv.Key, kv => kv.Value?.ToJsonString() ?? "null"), StringComparer.Ordinal);
    }

    /// <summary>SHA-256 of <see cref="Identity"/>, recorded in every checkpoint.</summary>
    public string ConfigHash() =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            string.Join("\n", Identity().Select(kv => kv.Key + "=" + kv.Value)))));

    /// <summary>The identity settings in which <paramref name="other"/> differs, as "name: this -> other".</summary>
    public List<string> IdentityChanges(RunConfig other)
    {
        var (a, b) = (Identity(), other.Identity());
        return a.Keys.Union(b.Keys).Order(StringComparer.Ordinal)
            .Where(k => a.GetValueOrDefault(k) != b.GetValueOrDefault(k))
            .Select(k => $"{k} {a.GetValueOrDefault(k, "(none)")} -> {b.GetValueOrDefault(k, "(none)")}").ToList();
    }

    public void Save(string runDir) =>
        AtomicFile.WriteAllText(Path.Combine(runDir, FileName), JsonSerializer.Serialize(this, Json));

    public static RunConfig Load(string runDir)
    {
        var path = Path.Combine(runDir, FileName);
        if (!File.Exists(path)) throw new UserInputException($"Run '{runDir}' has no {FileName}.");
        try
        {
            var c = JsonSerializer.Deserialize<RunConfig>(File.ReadAllText(path), Json)
                    ?? throw new UserInputException($"{path} is empty.");
            if (c.Version > CurrentVersion)
                throw new UserInputException($"{path} has version {c.Version}; this ActorLab reads up to {CurrentVersion} (upgrade it).");
            return c;
        }
        catch (JsonException e)
        {
            throw new UserInputException($"{path} is not a valid run config: {FileErrors.Json(e)}", e);
        }
    }
}
