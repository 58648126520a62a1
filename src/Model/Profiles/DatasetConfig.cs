using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using ActorLab.Model.Common;

namespace ActorLab.Model.Profiles;

/// <summary>
/// What a profiles dataset and its tokenizer are made from: N, R, relation wiring, the generation seed, the
/// tokenizer's vocabulary and the value lists (by content fingerprint). Both files are deterministic functions of
/// this record, so its <see cref="Id"/> (a content hash) names them everywhere: in sweeps, in the journal and in
/// every node's dataset cache, which rebuilds them from it and checks the result.
/// </summary>
public sealed record DatasetConfig
{
    public required int NProfiles { get; init; }
    public required int Relations { get; init; }
    public bool Bipartite { get; init; }
    /// <summary>Seed of profile generation, held-out splits and tokenizer training.</summary>
    public int Seed { get; init; }
    public int VocabSize { get; init; } = 3000;
    /// <summary>Folder of the five list files; null = the built-in lists. It must hold the same lists on every node.</summary>
    public string? ListsDir { get; init; }
    /// <summary>Fingerprint of the value lists' content (<see cref="ListsFingerprint"/>): part of the identity.</summary>
    public required string Lists { get; init; }
    /// <summary>The target 1-hop dataset bits N was solved for (informational; not part of the identity).</summary>
    public double? TargetBits { get; init; }

    /// <summary>A dataset built from the given lists.</summary>
    public static DatasetConfig Of(int n, int relations, bool bipartite, int seed, int vocabSize, ValueLists lists, string? listsDir, double? targetBits = null) =>
        new()
        {
            NProfiles = n, Relations = relations, Bipartite = bipartite, Seed = seed, VocabSize = vocabSize,
            ListsDir = listsDir is null ? null : Path.GetFullPath(listsDir), Lists = ListsFingerprint(lists), TargetBits = targetBits,
        };

    /// <summary>One hash over the five lists' fingerprints (16 hex digits).</summary>
    public static string ListsFingerprint(ValueLists lists) =>
        Hash(string.Join(",", lists.Fingerprints().Select(f => f.Sha256)));

    /// <summary>Content id of the profiles (what generation depends on).</summary>
    [JsonIgnore]
    public string ProfilesId => Hash(Invariant($"n={NProfiles};r={Relations};bipartite={Bipartite};seed={Seed};lists={Lists}"));

    /// <summary>Content id of profiles + tokenizer: the dataset's logical id.</summary>
    [JsonIgnore]
    public string Id => Hash(Invariant($"{ProfilesId};vocab={VocabSize}"));

    /// <summary>The reference's file name for these profiles (SPEC 1).</summary>
    [JsonIgnore]
    public string ProfilesFileName => $"profiles_dataset_{NProfiles}_{(Bipartite ? "bipartite" : "uniform")}_r{Relations}.parquet";

    /// <summary>A readable name for logs and tables.</summary>
    [JsonIgnore]
    public string Name => $"n{NProfiles}_r{Relations}{(Bipartite ? "_bipartite" : "")}_s{Seed}_v{VocabSize}";

    /// <summary>The value lists this dataset is drawn from, checked against its fingerprint.</summary>
    public ValueLists LoadLists()
    {
        var lists = ListsDir is null ? ValueLists.Default : ValueLists.FromDirectory(ListsDir);
        var actual = ListsFingerprint(lists);
        if (actual != Lists)
            throw new UserInputException(
                $"dataset {Name}: the value lists {(ListsDir is null ? "built into this binary" : $"in '{ListsDir}'")} have fingerprint {actual}, " +
                $"but the dataset was planned with {Lists} (a different ActorLab version or lists folder on this node?)");
        return lists;
    }

    static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
}
