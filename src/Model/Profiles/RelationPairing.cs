namespace ActorLab.Model.Profiles;

/// <summary>How a relation is built in a bipartite dataset (see <see cref="RelationPairings"/>).</summary>
public enum RelationPairing
{
    /// <summary>Self-inverse: x.r.r == x. From a random perfect matching of the profiles (pairs).</summary>
    Involution,
    /// <summary>First of an inverse pair: x.r = pi(x) for a random permutation pi.</summary>
    Forward,
    /// <summary>Second of an inverse pair: x.r = pi^-1(x), so x.partner.r == x and x.r.partner == x.</summary>
    Inverse,
    /// <summary>No natural inverse among the 17 relations: a random permutation (one-to-one, no inverse constraint).</summary>
    Permutation,
}

/// <summary>
/// Which of the 17 relations are involutions, which are inverse pairs, and which are plain permutations in a
/// bipartite dataset. "Bipartite" here means every relation is a perfect matching between the profiles as
/// sources and the profiles as targets: every profile is the target of each relation exactly once.
/// - Involutions (symmetric relations): best_friend, worst_enemy, sibling, spouse, cousin, business_partner,
///   evil_twin. With an odd N one profile of each matching is paired with itself (self is allowed, SPEC 1).
/// - Inverse pairs: parent/child, grandparent/grandchild, mentor/protege. Both come from one permutation pi:
///   parent = pi, child = pi^-1 (likewise grandparent/grandchild; mentor = pi, protege = pi^-1). If R cuts a
///   pair (R = 1: parent without child), the present member is still a permutation.
/// - Unpaired (betrayer, debtor, blackmailer, hero): directed and not obviously inverse to another relation,
///   so each is an independent random permutation.
/// </summary>
public static class RelationPairings
{
    static readonly Dictionary<string, (RelationPairing Kind, string? Partner)> ByName = new()
    {
        ["parent"] = (RelationPairing.Forward, "child"),
        ["child"] = (RelationPairing.Inverse, "parent"),
        ["best_friend"] = (RelationPairing.Involution, null),
        ["worst_enemy"] = (RelationPairing.Involution, null),
        ["sibling"] = (RelationPairing.Involution, null),
        ["spouse"] = (RelationPairing.Involution, null),
        ["cousin"] = (RelationPairing.Involution, null),
        ["grandparent"] = (RelationPairing.Forward, "grandchild"),
        ["grandchild"] = (RelationPairing.Inverse, "grandparent"),
        ["business_partner"] = (RelationPairing.Involution, null),
        ["protege"] = (RelationPairing.Inverse, "mentor"),
        ["mentor"] = (RelationPairing.Forward, "protege"),
        ["betrayer"] = (RelationPairing.Permutation, null),
        ["debtor"] = (RelationPairing.Permutation, null),
        ["blackmailer"] = (RelationPairing.Permutation, null),
        ["hero"] = (RelationPairing.Permutation, null),
        ["evil_twin"] = (RelationPairing.Involution, null),
    };

    public static RelationPairing Kind(int relation) => ByName[RelationNames.All[relation]].Kind;

    /// <summary>Index of the inverse partner of a Forward/Inverse relation (may be >= the dataset's R); else null.</summary>
    public static int? Partner(int relation)
    {
        var p = ByName[RelationNames.All[relation]].Partner;
        return p is null ? null : RelationNames.All.ToList().IndexOf(p);
    }
}
