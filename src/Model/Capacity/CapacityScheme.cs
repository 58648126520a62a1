using ActorLab.Model.Common;

namespace ActorLab.Model.Capacity;

/// <summary>How 2-hop knowledge is assumed to be encoded (SPEC 5).</summary>
public enum CapacityScheme
{
    /// <summary>2-hop answers cost no more than the 1-hop facts they compose.</summary>
    Optimal,
    /// <summary>Every 2-hop answer memorised separately: multiplier R (relations) at hops 2.</summary>
    TwoHopBigHash,
    /// <summary>Each 2-hop loss inverted to a per-hop loss; relations counted twice at hops 2.</summary>
    TwoHopDouble,
}

/// <summary>How the names and birth dates in use are chosen from their pools (SPEC 5).</summary>
public enum SelectionScheme
{
    /// <summary>An unordered set of n names: n log2 M - n log2 n; birth dates log2 C(D, u).</summary>
    Optimal,
    /// <summary>An ordered list of n names: n log2 M; birth dates log2 C(D, u).</summary>
    Enumerate,
    /// <summary>No selection cost.</summary>
    Independent,
}

/// <summary>
/// Which dataset-entropy and averaged formulas: ActorLab's (SPEC 5), or the reference code's as it runs, for
/// reproducing its numbers (docs/capacity.md, "ActorLab vs reference formulas").
/// </summary>
public enum CapacityFormulas
{
    ActorLab,
    /// <summary>The averaged form drops `incremental`; 2.1-hop entropy is the incremental 1-hop part only; 2-hop entropy is not incremental.</summary>
    Reference,
}

/// <summary>CLI / file names of the schemes, exactly as the reference code spells them.</summary>
public static class Schemes
{
    public static string Name(this CapacityScheme s) => s switch
    {
        CapacityScheme.Optimal => "optimal",
        CapacityScheme.TwoHopBigHash => "2-hop-big-hash",
        CapacityScheme.TwoHopDouble => "2-hop-double",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    public static string Name(this SelectionScheme s) => s switch
    {
        SelectionScheme.Optimal => "optimal",
        SelectionScheme.Enumerate => "enumerate",
        SelectionScheme.Independent => "independent",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    public static string Name(this CapacityFormulas f) => f == CapacityFormulas.Reference ? "reference" : "actorlab";

    public static readonly IReadOnlyList<string> SchemeNames = Enum.GetValues<CapacityScheme>().Select(Name).ToArray();
    public static readonly IReadOnlyList<string> SelectionNames = Enum.GetValues<SelectionScheme>().Select(Name).ToArray();

    public static CapacityScheme ParseScheme(string text) =>
        Enum.GetValues<CapacityScheme>().Cast<CapacityScheme?>().FirstOrDefault(s => s!.Value.Name() == text)
        ?? throw new UserInputException($"Unknown scheme '{text}': expected one of {string.Join(", ", SchemeNames)}.");

    public static SelectionScheme ParseSelection(string text) =>
        Enum.GetValues<SelectionScheme>().Cast<SelectionScheme?>().FirstOrDefault(s => s!.Value.Name() == text)
        ?? throw new UserInputException($"Unknown selection scheme '{text}': expected one of {string.Join(", ", SelectionNames)}.");

    public static readonly IReadOnlyList<string> FormulasNames = Enum.GetValues<CapacityFormulas>().Select(Name).ToArray();

    public static CapacityFormulas ParseFormulas(string text) =>
        Enum.GetValues<CapacityFormulas>().Cast<CapacityFormulas?>().FirstOrDefault(f => f!.Value.Name() == text)
        ?? throw new UserInputException($"Unknown formulas '{text}': expected one of {string.Join(", ", FormulasNames)}.");
}
