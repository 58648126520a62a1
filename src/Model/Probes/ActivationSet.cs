using static TorchSharp.torch;

namespace ActorLab.Model.Probes;

/// <summary>Position kinds a probe reads (SPEC 6), in question order.</summary>
public static class ProbePositions
{
    /// <summary>Last token of the first person's name (before "'s"): in a causal model the one token that has seen the whole name.</summary>
    public const string Name = "name";
    /// <summary>Last token of the relation words (2-hop only), before "'s".</summary>
    public const string Relation = "relation";
    /// <summary>Last token of the subject (attribute or relation asked about), before "?".</summary>
    public const string Attribute = "attribute";
    /// <summary>Final prompt token (":" of "Answer:"), where the model itself predicts the first answer token.</summary>
    public const string Last = "last";
    /// <summary>Name, relation (2-hop) and attribute states concatenated.</summary>
    public const string All = "all";

    public static readonly IReadOnlyList<string> Known = [Name, Relation, Attribute, Last, All];

    /// <summary>The position kinds concatenated into <see cref="All"/> for a question of the given hops.</summary>
    public static IReadOnlyList<string> AllParts(int hops) => hops == 2 ? [Name, Relation, Attribute] : [Name, Attribute];
}

/// <summary>Targets a probe predicts.</summary>
public static class ProbeTargets
{
    /// <summary>The first token of the answer.</summary>
    public const string Answer = "answer";
    /// <summary>2-hop only: the first token of the middle person's (first hop's answer) name.</summary>
    public const string FirstHop = "first-hop";

    public static readonly IReadOnlyList<string> Known = [Answer, FirstHop];
}

/// <summary>
/// Hidden states of one question set, captured at every layer (0 = embeddings, l = residual stream after block l)
/// and at each position kind, with the target tokens, the model's own loss on the first answer token, and the
/// probe train/eval split. States are float32 CPU tensors [n, w], one per (layer, position), w the same at every
/// layer of a position (d, or 2 d for the reference's two name tokens side by side); the set owns them.
/// </summary>
public sealed class ActivationSet : IDisposable
{
    readonly Dictionary<(int Layer, string Position), Tensor> states;

    public int Hops { get; }
    /// <summary>Number of residual-stream layers captured: model blocks + 1.</summary>
    public int LayerCount { get; }
    public int Count { get; }
    public IReadOnlyList<string> CapturedPositions { get; }
    public IReadOnlyDictionary<string, long[]> Targets { get; }
    /// <summary>Per sample, the model's -log p(token of <see cref="ModelLossTarget"/> | prompt) at the final prompt token, in nats.</summary>
    public double[] ModelAnswerLoss { get; }
    /// <summary>The target whose token <see cref="ModelAnswerLoss"/> scores (answer; first-hop in reference probes, as the reference).</summary>
    public string ModelLossTarget { get; init; } = ProbeTargets.Answer;
    /// <summary>Per sample: true = probe eval split, false = probe train split.</summary>
    public bool[] IsEval { get; }
    /// <summary>Per sample, its group for cross-validation folds (the question's first person), or null.</summary>
    public int[]? Groups { get; }
    /// <summary>Free-form description (checkpoint, mode...) carried into titles and metadata.</summary>
    public IReadOnlyDictionary<string, string> Description { get; }

    public ActivationSet(int hops, int layerCount, Dictionary<(int Layer, string Position), Tensor> states,
        IReadOnlyDictionary<string, long[]> targets, double[] modelAnswerLoss, bool[] isEval,
        IReadOnlyDictionary<string, string>? description = null, int[]? groups = null)
    {
        if (hops is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(hops), hops, "hops must be 1 or 2");
        if (layerCount < 1) throw new ArgumentOutOfRangeException(nameof(layerCount));
        if (states.Count == 0) throw new ArgumentException("no hidden states");
        Hops = hops;
        LayerCount = layerCount;
        this.states = states;
        Count = (int)states.Values.First().shape[0];
        foreach (var ((layer, pos), t) in states)
        {
            if (layer < 0 || layer >= layerCount) throw new ArgumentException($"layer {layer} outside [0, {layerCount})");
            if (pos == ProbePositions.All || !ProbePositions.Known.Contains(pos)) throw new ArgumentException($"unknown captured position '{pos}'");
            long width = states.First(kv => kv.Key.Position == pos).Value.shape[^1];
            if (t.ndim != 2 || t.shape[0] != Count || t.shape[1] != width)
                throw new ArgumentException($"states at ({layer}, {pos}) have shape [{string.Join(", ", t.shape)}], expected [{Count}, {width}]");
        }
        CapturedPositions = ProbePositions.Known.Where(p => states.Keys.Any(k => k.Position == p)).ToArray();
        foreach (var pos in CapturedPositions)
            for (int l = 0; l < layerCount; l++)
                if (!states.ContainsKey((l, pos))) throw new ArgumentException($"position '{pos}' is missing layer {l}");
        foreach (var (name, tokens) in targets)
            if (tokens.Length != Count) throw new ArgumentException($"target '{name}' has {tokens.Length} labels for {Count} samples");
        if (modelAnswerLoss.Length != Count) throw new ArgumentException("model loss length differs from the sample count");
        if (isEval.Length != Count) throw new ArgumentException("split length differs from the sample count");
        if (!isEval.Any() || isEval.All(e => e)) throw new ArgumentException("the split needs both train and eval samples");
        if (groups != null && groups.Length != Count) throw new ArgumentException("groups length differs from the sample count");
        Groups = groups;
        Targets = targets;
        ModelAnswerLoss = modelAnswerLoss;
        IsEval = isEval;
        Description = description ?? new Dictionary<string, string>();
    }

    /// <summary>Position kinds a probe can read here: the captured ones, plus "all" when its parts are captured.</summary>
    public IReadOnlyList<string> Positions =>
        ProbePositions.AllParts(Hops).All(CapturedPositions.Contains) ? [.. CapturedPositions, ProbePositions.All] : CapturedPositions;

    /// <summary>Hidden states [n, d] (or [n, k d] for "all"); a new tensor the caller disposes.</summary>
    public Tensor Features(int layer, string position)
    {
        if (layer < 0 || layer >= LayerCount) throw new ArgumentOutOfRangeException(nameof(layer), layer, $"layer must be in [0, {LayerCount - 1}]");
        if (position == ProbePositions.All)
        {
            var parts = ProbePositions.AllParts(Hops).Select(p => Get(layer, p)).ToArray();
            return cat(parts, 1);
        }
        return Get(layer, position).alias();
    }

    Tensor Get(int layer, string position) =>
        states.TryGetValue((layer, position), out var t) ? t : throw new ArgumentException($"position '{position}' was not captured");

    public void Dispose()
    {
        foreach (var t in states.Values) t.Dispose();
        states.Clear();
    }
}
