namespace ActorLab.Model.Profiles;

/// <summary>Relation names in the reference order (SPEC 1). A dataset with R relations uses the first R.</summary>
public static class RelationNames
{
    public static readonly IReadOnlyList<string> All =
    [
        "parent", "child", "best_friend", "worst_enemy", "sibling", "spouse", "cousin",
        "grandparent", "grandchild", "business_partner", "protege", "mentor", "betrayer", "debtor",
        "blackmailer", "hero", "evil_twin",
    ];

    public const int Max = 17;

    public static IReadOnlyList<string> First(int count) => All.Take(count).ToArray();
}

/// <summary>The four profile attributes, in the reference order. Subjects = these + the dataset's relations.</summary>
public static class AttributeNames
{
    public const string BirthDate = "birth_date";
    public const string BirthCity = "birth_city";
    public const string University = "university";
    public const string Employer = "employer";

    public static readonly IReadOnlyList<string> All = [BirthDate, BirthCity, University, Employer];
    public const int Count = 4;
}

/// <summary>
/// Subject ids used everywhere (questions, token batches, per-subject losses): 0..3 are the attributes in
/// <see cref="AttributeNames.All"/> order, 4 + r is relation r.
/// </summary>
public static class Subjects
{
    public static int Count(int relations) => AttributeNames.Count + relations;
    public static bool IsRelation(int subject) => subject >= AttributeNames.Count;
    public static int RelationOf(int subject) => subject - AttributeNames.Count;
    public static int OfRelation(int relation) => AttributeNames.Count + relation;

    public static string Name(int subject) =>
        subject < AttributeNames.Count ? AttributeNames.All[subject] : RelationNames.All[subject - AttributeNames.Count];

    public static IReadOnlyList<string> Names(int relations) =>
        Enumerable.Range(0, Count(relations)).Select(Name).ToArray();

    /// <summary>Parses a subject name; null if unknown for this relation count.</summary>
    public static int? TryParse(string name, int relations)
    {
        for (int s = 0; s < Count(relations); s++)
            if (Name(s) == name) return s;
        return null;
    }
}
