namespace ActorLab.Actors.Gateway;

/// <summary>
/// The nonces of signed console requests the coordinator has run, each kept while its request could still be fresh
/// (twice the allowed skew), at most <see cref="Capacity"/> of them. The coordinator holds the one ledger, so a
/// request runs once in the whole cluster whichever gateway it reaches; a new coordinator (after a failover or a
/// restart) knows none of its predecessor's nonces, so it runs no request signed before it started.
/// </summary>
public sealed class NonceLedger(DateTimeOffset startedAt)
{
    public const int Capacity = 100_000;
    readonly Dictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);

    public int Count => _seen.Count;

    /// <summary>Null: run it (the nonce is now used); else why not.</summary>
    public string? Admit(string nonce, long issuedAtUnixMs, DateTimeOffset now)
    {
        if (issuedAtUnixMs < startedAt.ToUnixTimeMilliseconds())
            return $"the request was signed before this coordinator started ({startedAt:HH:mm:ss} UTC: a failover or a restart), so it could be a replay; run the command again";
        if (_seen.ContainsKey(nonce)) return "the request was already used once (a replay)";
        if (_seen.Count >= Capacity)
            foreach (var k in _seen.Where(kv => kv.Value < now).Select(kv => kv.Key).ToList()) _seen.Remove(k);
        if (_seen.Count >= Capacity) return "too many signed requests in the last two minutes";
        _seen[nonce] = now + OperatorTokens.MaxSkew + OperatorTokens.MaxSkew;
        return null;
    }
}
