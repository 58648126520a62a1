using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;

namespace ActorLab.Model.Probes;

/// <summary>
/// One probe question as the model sees it, "BOS Question: What was {name}'s [{relation}'s] {subject}? Answer:"
/// (the first example of a packed training sequence), with the index of each position kind and the target tokens.
/// Relation is -1 for 1-hop questions. The *Start indices are the first token of the name, relation and subject
/// words (what the reference's probes read); the *Pos ones their last token (what the present probes read).
/// </summary>
public sealed record ProbePrompt(Question Question, int[] Tokens, int NamePos, int RelationPos, int AttributePos,
    int LastPos, long AnswerToken, long FirstHopToken, int NameStart, int RelationStart, int SubjectStart)
{
    public int PositionOf(string kind) => kind switch
    {
        ProbePositions.Name => NamePos,
        ProbePositions.Relation => RelationPos >= 0 ? RelationPos : throw new ArgumentException("1-hop questions have no relation token"),
        ProbePositions.Attribute => AttributePos,
        ProbePositions.Last => LastPos,
        _ => throw new ArgumentException($"no single position for kind '{kind}'"),
    };
}

/// <summary>
/// Builds <see cref="ProbePrompt"/>s from the stream's own cached pieces (<see cref="QaTokenCache"/>), so probe
/// inputs are token for token what training showed. A position kind is the last token of its words: the name
/// without its "'s", the relation without its "'s", the subject without "? Answer:". In a causal model that last
/// token is the only one that has seen all of the words, which is why it is read rather than a mean over tokens.
/// </summary>
public sealed class ProbeQuestions
{
    readonly ProfileDatabase db;
    readonly QaTokenCache cache;
    readonly int eos;
    readonly int possessiveTokens;
    readonly int[] subjectWordTokens;

    public ProbeQuestions(ProfileDatabase db, QaTokenizer tok, QaTokenCache? cache = null)
    {
        this.db = db;
        this.cache = cache ?? new QaTokenCache(db, tok);
        eos = tok.EosId;
        // "'s" is always its own pre-token (GPT-2 contraction rule), so it is the tail of every possessive piece.
        possessiveTokens = tok.Encode("'s").Length;
        int s = Subjects.Count(db.RelationCount);
        subjectWordTokens = new int[s];
        for (int a = 0; a < s; a++)
        {
            var words = tok.Encode(" " + Questions.SubjectText(a));
            var piece = this.cache[this.cache.SubjectAsk[a]];
            if (piece.Length <= words.Length || !piece[..words.Length].SequenceEqual(words))
                throw new InvalidOperationException($"subject '{Questions.SubjectText(a)}' does not tokenize as a prefix of its question piece");
            subjectWordTokens[a] = words.Length;
        }
    }

    public ProbePrompt Build(Question q)
    {
        var ids = new List<int> { eos };
        ids.AddRange(cache[cache.Prefix]);
        int nameStart = ids.Count;
        AddName(q.Profile, QaTokenCache.Possessive, ids);
        int namePos = ids.Count - 1 - possessiveTokens;
        int relationPos = -1, relationStart = -1;
        int answerProfile = q.Profile;
        long firstHop = -1;
        if (q.Relation >= 0)
        {
            relationStart = ids.Count;
            ids.AddRange(cache[cache.RelationPossessive[q.Relation]]);
            relationPos = ids.Count - 1 - possessiveTokens;
            answerProfile = db.Related(q.Relation, q.Profile);
            firstHop = FirstNameToken(answerProfile);
        }
        int subjectStart = ids.Count;
        ids.AddRange(cache[cache.SubjectAsk[q.Subject]]);
        int attributePos = subjectStart + subjectWordTokens[q.Subject] - 1;
        return new ProbePrompt(q, ids.ToArray(), namePos, relationPos, attributePos, ids.Count - 1,
            AnswerToken(answerProfile, q.Subject), firstHop, nameStart, relationStart, subjectStart);
    }

    void AddName(int p, int variant, List<int> ids)
    {
        if (cache.NamesFromParts)
        {
            ids.AddRange(cache[cache.First![db.FirstNames.Ids[p]]]);
            ids.AddRange(cache[cache.Middle![db.MiddleNames.Ids[p]]]);
            ids.AddRange(cache[cache.Last![variant][db.LastNames.Ids[p]]]);
        }
        else ids.AddRange(cache[cache.WholeNames![variant][p]]);
    }

    /// <summary>First token of a person's name as an answer (" First ...").</summary>
    long FirstNameToken(int p) => cache.NamesFromParts
        ? cache[cache.First![db.FirstNames.Ids[p]]][0]
        : cache[cache.WholeNames![QaTokenCache.Plain][p]][0];

    /// <summary>First token of the answer to subject <paramref name="subject"/> of profile <paramref name="p"/>.</summary>
    long AnswerToken(int p, int subject) => subject switch
    {
        0 => cache[cache.Dates[cache.DatePiece[p]]][0],
        1 => cache[cache.Cities[db.BirthCities.Ids[p]]][0],
        2 => cache[cache.Universities[db.Universities.Ids[p]]][0],
        3 => cache[cache.Employers[db.Employers.Ids[p]]][0],
        _ => FirstNameToken(db.Related(Subjects.RelationOf(subject), p)),
    };
}
