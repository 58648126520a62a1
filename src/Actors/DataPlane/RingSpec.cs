using System.Collections.Immutable;
using System.Security.Cryptography;

namespace ActorLab.Actors.DataPlane;

/// <summary>One node of a ring: where its data-plane listener accepts connections.</summary>
public sealed record RingMember(string NodeId, string Host, int Port);

/// <summary>
/// One lease of a cross-node data-parallel run: the node leaders in ring order (index = ring rank) and the secret
/// that authenticates their connections. A new lease is a new epoch with a new secret.
/// </summary>
public sealed record RingSpec(string RunId, long Epoch, ImmutableArray<RingMember> Members, byte[] Secret)
{
    public int WorldSize => Members.Length;

    /// <summary>32 random bytes, made by the coordinator for each lease.</summary>
    public static byte[] NewSecret() => RandomNumberGenerator.GetBytes(32);

    public RingMember Next(int rank) => Members[(rank + 1) % WorldSize];
    public RingMember Previous(int rank) => Members[(rank - 1 + WorldSize) % WorldSize];
}
