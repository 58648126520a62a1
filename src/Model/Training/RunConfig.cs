using System.Text.Json;
using System.Text.Json.Serialization;
using ActorLab.Model.Common;

namespace ActorLab.Model.Training;

/// <summary>
/// What a run is: written as `run.json` in the run directory by the trainer, read by `measure`, `eval`,
/// `probe` and the sweep coordinator. JSON names are snake_case, stable across versions.
/// </summary>
public sealed record RunConfig
{
    public required string RunName { get; init; }
    public required string Profiles { get; init; }
    public required string Tokenizer { get; init; }
    public required int NProfiles { get; init; }
    public required int Relations { get; init; }
    /// <summary>The real parameter count of the model (not the budget).</summary>
    public required long NParams { get; init; }
    public required long ParamBudget { get; init; }
    public required int Layers { get; init; }
    public required int MinOrder { get; init; }
    public required int MaxOrder { get; init; }
    public double HopRatio { get; init; } = 0.1;
    public string Optimizer { get; init; } = "schedulefree";
    public double Lr { get; init; } = 1e-3;
    public double Beta1 { get; init; } = 0.99;
    public double Beta2 { get; init; } = 0.999;
    public double WeightDecay { get; init; } = 0.1;
    public int BatchSize { get; init; } = 32;
    public int SeqLen { get; init; } = 512;
    public long MaxSteps { get; init; }
    public bool Curriculum { get; init; }
    public bool Cot { get; init; }
    public bool Bipartite { get; init; }
    public int Seed { get; init; }
    public string Device { get; init; } = "cpu";

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public const string FileName = "run.json";

    public void Save(string runDir) =>
        AtomicFile.WriteAllText(Path.Combine(runDir, FileName), JsonSerializer.Serialize(this, Json));

    public static RunConfig Load(string runDir)
    {
        var path = Path.Combine(runDir, FileName);
        if (!File.Exists(path)) throw new UserInputException($"Run '{runDir}' has no {FileName}.");
        try
        {
            return JsonSerializer.Deserialize<RunConfig>(File.ReadAllText(path), Json)
                   ?? throw new UserInputException($"{path} is empty.");
        }
        catch (JsonException e)
        {
            throw new UserInputException($"{path} is not a valid run config: {FileErrors.Json(e)}", e);
        }
    }
}
