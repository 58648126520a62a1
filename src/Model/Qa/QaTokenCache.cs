using ActorLab.Model.Common;
using ActorLab.Model.Profiles;

namespace ActorLab.Model.Qa;

/// <summary>
/// Token ids of every piece a question can be assembled from, so the hot path copies spans instead of running BPE.
/// Pieces are cut where the GPT-2 pre-tokenizer always cuts: each piece but the first of an example starts with a
/// space, and no piece ends with whitespace. A pre-token never spans "non-space | space", and BPE never merges
/// across pre-tokens, so the ids of the concatenated text are the concatenated ids of the pieces. Text that is
/// glued to a name or value without a space ("'s", ",") is cached together with it (the last name has three
/// variants), because there the pre-tokenizer may not cut (e.g. "Jr.'s" is one pre-token ".'" + "s").
/// Example layout (| = piece boundary):
///   1-hop: Question: What was| First| Middle| Last's| birth date? Answer:| 1950-03-12
///   2-hop: Question: What was| First| Middle| Last's| best friend's| employer? Answer:| Acme
///   CoT answer:  First| Middle| Last's| best friend is| First| Middle| Last,| their employer is| Acme
/// </summary>
public sealed class QaTokenCache
{
    public readonly record struct Piece(int Start, int Length);

    /// <summary>Last-name variants: followed by "'s", by nothing (an answer), by "," (the CoT middle person).</summary>
    public const int Possessive = 0, Plain = 1, Comma = 2;

    readonly List<int> _poolBuilder = new();
    int[] _pool = [];
    readonly QaTokenizer _tok;
    readonly ProfileDatabase _db;

    public QaTokenCache(ProfileDatabase db, QaTokenizer tok)
    {
        _db = db;
        _tok = tok;
        Prefix = Add(PrefixText);
        int r = db.RelationCount, s = Subjects.Count(r);
        RelationPossessive = Enumerable.Range(0, r).Select(x => Add(RelationPossessiveText(x))).ToArray();
        RelationIs = Enumerable.Range(0, r).Select(x => Add($" {Questions.RelationText(x)} is")).ToArray();
        SubjectAsk = Enumerable.Range(0, s).Select(x => Add(SubjectAskText(x))).ToArray();
        Their = Enumerable.Range(0, s).Select(x => Add($" their {Questions.SubjectText(x)} is")).ToArray();

        int n = db.Count;
        NamesFromParts = true;
        for (int p = 0; p < n && NamesFromParts; p++)
        {
            var name = db.Names[p];
            var f = db.FirstNames[p]; var m = db.MiddleNames[p]; var l = db.LastNames[p];
            NamesFromParts = name.Length == f.Length + m.Length + l.Length + 2 && name.StartsWith(f, StringComparison.Ordinal)
                && name.EndsWith(l, StringComparison.Ordinal) && name.AsSpan(f.Length + 1, m.Length).SequenceEqual(m)
                && name[f.Length] == ' ' && name[f.Length + 1 + m.Length] == ' ' && IsCleanPart(f) && IsCleanPart(m) && IsCleanPart(l);
        }
        if (NamesFromParts)
        {
            First = Values(db.FirstNames, "first name", "");
            Middle = Values(db.MiddleNames, "middle name", "");
            Last = [Values(db.LastNames, "last name", NameSuffix[Possessive]), Values(db.LastNames, "last name", NameSuffix[Plain]), Values(db.LastNames, "last name", NameSuffix[Comma])];
        }
        else
        {
            // Names are not "First Middle Last" of clean parts: cache whole names per profile (more memory, same ids).
            WholeNames = new Piece[3][];
            for (int v = 0; v < 3; v++)
            {
                WholeNames[v] = new Piece[n];
                for (int p = 0; p < n; p++) WholeNames[v][p] = AddValue(db.Names[p], "name", NameSuffix[v]);
            }
        }

        Cities = Values(db.BirthCities, "birth_city", "");
        Universities = Values(db.Universities, "university", "");
        Employers = Values(db.Employers, "employer", "");
        DatePiece = new int[n];
        var byDay = new Dictionary<int, int>();
        var dates = new List<Piece>();
        for (int p = 0; p < n; p++)
        {
            int day = db.BirthDays[p];
            if (!byDay.TryGetValue(day, out var idx))
            {
                idx = dates.Count;
                byDay[day] = idx;
                dates.Add(AddValue(db.BirthDateText(p), "birth_date", ""));
            }
            DatePiece[p] = idx;
        }
        Dates = dates.ToArray();
        _pool = _poolBuilder.ToArray();
        _poolBuilder.Clear();

        MaxQuestionTokens = Prefix.Length + MaxNameTokens(Possessive) + RelationPossessive.Max(x => x.Length) + SubjectAsk.Max(x => x.Length);
    }

    /// <summary>The text of the pieces every question is made of (one place: the cache and its lower bound read them).</summary>
    public const string PrefixText = "Question: What was";
    public static string RelationPossessiveText(int relation) => $" {Questions.RelationText(relation)}'s";
    public static string SubjectAskText(int subject) => $" {Questions.SubjectText(subject)}? Answer:";
    /// <summary>What follows a name, per variant (<see cref="Possessive"/>, <see cref="Plain"/>, <see cref="Comma"/>).</summary>
    static readonly string[] NameSuffix = ["'s", "", ","];

    /// <summary>
    /// A lower bound on <see cref="MaxQuestionTokens"/> that needs no tokenizer and no profiles, only the relation count
    /// and the value lists the names are drawn from: the number of GPT-2 pre-tokens of the longest question. It is never
    /// above the real value whatever the trained vocabulary: <see cref="MaxQuestionTokens"/> is the sum of four encoded
    /// pieces' lengths (the prefix, a profile's name with "'s", the longest relation with "'s", the longest subject
    /// with "? Answer:"); BPE encodes every pre-token on its own into at least one token (byte-level: every byte is in
    /// the vocabulary; the pieces hold no special token), so a piece has at least as many tokens as pre-tokens; and a
    /// name " F M L's" has exactly the pre-tokens of " F", " M" and " L's" (no pre-token runs from a non-space into a
    /// space, the premise of this cache), each at least the fewest any first name or surname of the lists gives.
    /// </summary>
    public static int MaxQuestionTokensLowerBound(int relations, ValueLists lists)
    {
        int first = lists.FirstNames.Min(f => PreTokens(" " + f));
        int last = lists.Surnames.Min(l => PreTokens(" " + l + NameSuffix[Possessive]));
        int relation = Enumerable.Range(0, relations).Max(x => PreTokens(RelationPossessiveText(x)));
        int subject = Enumerable.Range(0, Subjects.Count(relations)).Max(x => PreTokens(SubjectAskText(x)));
        return PreTokens(PrefixText) + 2 * first + last + relation + subject;
    }

    /// <summary>How many pre-tokens the GPT-2 pre-tokenizer (the one <see cref="QaTokenizer"/> encodes with) cuts a text into.</summary>
    public static int PreTokens(string text) => ByteLevel.Gpt2Regex().Count(text);

    public Piece Prefix { get; }
    public Piece[] RelationPossessive { get; }
    public Piece[] RelationIs { get; }
    public Piece[] SubjectAsk { get; }
    public Piece[] Their { get; }
    public bool NamesFromParts { get; }
    public Piece[]? First { get; }
    public Piece[]? Middle { get; }
    public Piece[][]? Last { get; }
    public Piece[][]? WholeNames { get; }
    public Piece[] Cities { get; }
    public Piece[] Universities { get; }
    public Piece[] Employers { get; }
    public Piece[] Dates { get; }
    public int[] DatePiece { get; }
    /// <summary>Most tokens a 2-hop question (everything before the answer) can take.</summary>
    public int MaxQuestionTokens { get; }

    public ReadOnlySpan<int> this[Piece p] => _pool.AsSpan(p.Start, p.Length);

    static bool IsCleanPart(string s) => s.Length > 0 && !s.Contains(' ') && !char.IsWhiteSpace(s[0]) && !char.IsWhiteSpace(s[^1]);

    Piece Add(string text)
    {
        var ids = _tok.Encode(text);
        var piece = new Piece(_poolBuilder.Count, ids.Length);
        _poolBuilder.AddRange(ids);
        return piece;
    }

    Piece AddValue(string value, string what, string suffix)
    {
        if (value.Length == 0 || char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]))
            throw new UserInputException($"{what} '{value}' is empty or has leading/trailing whitespace; questions cannot be tokenized from cached pieces.");
        if (value.Contains(QaTokenizer.EndOfText) || value.Contains(QaTokenizer.Unknown))
            throw new UserInputException($"{what} '{value}' contains a special token.");
        return Add(" " + value + suffix);
    }

    /// <summary>Pieces for the values profiles use (unused pool values get an empty piece and are never read).</summary>
    Piece[] Values(InternedColumn column, string what, string suffix)
    {
        var pieces = new Piece[column.Values.Length];
        var done = new bool[column.Values.Length];
        foreach (var id in column.Ids)
        {
            if (done[id]) continue;
            done[id] = true;
            pieces[id] = AddValue(column.Values[id], what, suffix);
        }
        return pieces;
    }

    int MaxNameTokens(int variant)
    {
        int max = 0;
        for (int p = 0; p < _db.Count; p++) max = Math.Max(max, NameTokens(p, variant));
        return max;
    }

    public int NameTokens(int p, int variant) => NamesFromParts
        ? First![_db.FirstNames.Ids[p]].Length + Middle![_db.MiddleNames.Ids[p]].Length + Last![variant][_db.LastNames.Ids[p]].Length
        : WholeNames![variant][p].Length;
}
