namespace ActorLab.Model.Probes;

/// <summary>
/// Maps answer-token ids (sparse, up to the vocabulary size) to compact class ids 0..C-1 for a probe. Classes
/// are the sorted distinct token ids of the labels given (train and eval together, so every eval label has a
/// column; a class seen only in eval is learnt as "never" by the bias).
/// </summary>
public sealed class LabelSpace
{
    readonly Dictionary<long, int> index;
    public IReadOnlyList<long> TokenIds { get; }
    public int Count => TokenIds.Count;

    public LabelSpace(IEnumerable<long> tokenIds)
    {
        TokenIds = tokenIds.Distinct().Order().ToArray();
        if (TokenIds.Count == 0) throw new ArgumentException("a label space needs at least one token id");
        index = TokenIds.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i);
    }

    public int ClassOf(long tokenId) =>
        index.TryGetValue(tokenId, out var c) ? c : throw new KeyNotFoundException($"token id {tokenId} is not in this label space");

    public long[] Classes(IEnumerable<long> tokenIds) => tokenIds.Select(t => (long)ClassOf(t)).ToArray();
}
