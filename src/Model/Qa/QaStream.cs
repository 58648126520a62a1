using ActorLab.Model.Common;
using ActorLab.Model.Profiles;

namespace ActorLab.Model.Qa;

/// <summary>
/// Options of a question stream (SPEC 2). <paramref name="Orders"/> ⊆ {1, 2} with weights [1, 1/HopRatio];
/// <paramref name="Mode"/> null = the training mix, otherwise every question is drawn for that eval mode.
/// <paramref name="Curriculum"/>: 1-hop only until <see cref="QaStream.SetCurriculumPhase"/>(true), then weights [0.1, 1].
/// <paramref name="Subject"/> (subject-wise eval, needs a mode): every question asks that subject. As the reference
/// does, a 2-hop mode draws its (p, r) from the mode's tuples and replaces the subject, so every subject is asked in
/// every mode (train_twohop asks the held-out second attribute too).
/// </summary>
public sealed record QaStreamOptions(
    int[] Orders,
    double HopRatio = 0.1,
    int SeqLen = 512,
    int BatchSize = 32,
    bool Cot = false,
    int Seed = 0,
    int Rank = 0,
    int Worker = 0,
    int Epoch = 0,
    EvalMode? Mode = null,
    bool Curriculum = false,
    int? Subject = null)
{
    /// <summary>The reference packs max_seq_len // 15 examples into a sequence, then truncates.</summary>
    public int ExamplesPerSequence => SeqLen / 15;
    public bool HasTwoHop => Mode is { } m ? m.IsTwoHop() : Orders.Contains(2);
}

/// <summary>A question the stream generated, with its row and its index in <see cref="TokenBatch.Questions"/>
/// (-1 when truncation cut it off before its answer).</summary>
public readonly record struct GeneratedQuestion(int Sequence, Question Question, int InfoIndex);

/// <summary>
/// The deterministic, packed, labelled Q&amp;A token stream. A sequence is BOS + examples joined by EOS
/// ("Question: {q} Answer: {a}"), SeqLen // 15 of them, truncated to SeqLen; a sequence that comes out shorter
/// is padded with EOS (label -100). Labels are the answer tokens (after "Answer:", up to but excluding the EOS);
/// a truncated final answer (no EOS after it in the sequence) carries none, as in the reference. Batch k's
/// randomness is a hash of (seed, rank, worker, epoch, k, mode[, subject]), so <see cref="Seek"/> is O(1), a resumed
/// run continues the same stream, and replicas and workers never repeat each other. Sequences are assembled from <see cref="QaTokenCache"/> pieces: no BPE per question.
/// </summary>
public sealed class QaStream
{
    readonly ProfileDatabase _db;
    readonly HeldOutSplits? _splits;
    readonly QaTokenCache _cache;
    readonly int _eos;
    readonly List<QuestionInfo> _infos = new();
    readonly List<GeneratedQuestion> _generated = new();
    bool _twoHopPhase;

    public QaStream(ProfileDatabase db, QaTokenizer tok, HeldOutSplits? splits, QaStreamOptions opt, long startBatch = 0)
        : this(db, tok, splits, opt, new QaTokenCache(db, tok), startBatch) { }

    /// <summary>Shares one <see cref="QaTokenCache"/> between several streams (workers, eval modes).</summary>
    public QaStream(ProfileDatabase db, QaTokenizer tok, HeldOutSplits? splits, QaStreamOptions opt, QaTokenCache cache, long startBatch = 0)
    {
        Validate(opt);
        if (opt.HasTwoHop && splits is null)
            throw new ArgumentException("2-hop questions need held-out splits (HeldOutSplits.Build)", nameof(splits));
        if (splits is not null && (splits.N != db.Count || splits.R != db.RelationCount))
            throw new ArgumentException("held-out splits belong to another database", nameof(splits));
        if (opt.Subject is { } subject && (subject < 0 || subject >= Subjects.Count(db.RelationCount)))
            throw new UserInputException($"subject {subject} does not exist in a database with {db.RelationCount} relations (subjects 0..{Subjects.Count(db.RelationCount) - 1})");
        int minLen = MinSeqLen(cache.MaxQuestionTokens);
        if (opt.SeqLen < minLen)
            throw new UserInputException($"seq-len {opt.SeqLen} is too short for one question: it needs at least {minLen} tokens (BOS + the longest question + one answer token, and 15 per packed example).");
        _db = db;
        _splits = splits;
        _cache = cache;
        _eos = tok.EosId;
        Options = opt;
        BatchIndex = startBatch;
        _twoHopPhase = !opt.Curriculum;
    }

    /// <summary>
    /// The shortest sequence that holds one question of <paramref name="maxQuestionTokens"/> tokens: BOS + the question +
    /// one answer token, and at least the 15 tokens of one packed example. The exact rule with a trained tokenizer's
    /// <see cref="QaTokenCache.MaxQuestionTokens"/>; sweep planning applies it to <see cref="QaTokenCache.MaxQuestionTokensLowerBound"/>.
    /// </summary>
    public static int MinSeqLen(int maxQuestionTokens) => Math.Max(15, 1 + maxQuestionTokens + 1);

    /// <summary>Longest sequence and largest batch a stream packs (the token arrays of a batch are B x T ints).</summary>
    public const int MaxSeqLen = 65536, MaxBatchSize = 65536;

    public static void Validate(QaStreamOptions opt)
    {
        if (opt.Orders is null || opt.Orders.Length == 0 || opt.Orders.Any(o => o is not (1 or 2)) || opt.Orders.Distinct().Count() != opt.Orders.Length)
            throw new UserInputException($"orders must be a non-empty subset of {{1,2}}, got [{string.Join(",", opt.Orders ?? [])}]");
        if (!(opt.HopRatio > 0) || double.IsInfinity(opt.HopRatio))
            throw new UserInputException($"hop_ratio must be a positive number, got {opt.HopRatio}");
        if (opt.BatchSize is < 1 or > MaxBatchSize) throw new UserInputException($"batch size must be in 1..{MaxBatchSize}, got {opt.BatchSize}");
        if (opt.SeqLen is < 2 or > MaxSeqLen) throw new UserInputException($"--seq-len must be in 2..{MaxSeqLen}, got {opt.SeqLen}");
        if (opt.Subject is not null && opt.Mode is null)
            throw new UserInputException("a subject-wise stream needs an eval mode (the training mix asks every subject)");
    }

    public QaStreamOptions Options { get; }
    public QaTokenCache Cache => _cache;

    /// <summary>Index of the batch the next <see cref="Next"/> returns.</summary>
    public long BatchIndex { get; private set; }

    /// <summary>Every question of the last batch, including ones cut off before their answer.</summary>
    public IReadOnlyList<GeneratedQuestion> LastQuestions => _generated;

    /// <summary>Continue from batch <paramref name="batchIndex"/> (resume): O(1).</summary>
    public void Seek(long batchIndex) => BatchIndex = batchIndex;

    /// <summary>Curriculum: false = 1-hop only, true = orders [1, 2] with weights [0.1, 1]. No effect without Curriculum.</summary>
    public void SetCurriculumPhase(bool twoHop)
    {
        if (Options.Curriculum) _twoHopPhase = twoHop;
    }

    public bool InTwoHopPhase => _twoHopPhase;

    /// <summary>Probability that a training-mix question is 2-hop.</summary>
    public double TwoHopProbability
    {
        get
        {
            var o = Options;
            if (o.Curriculum && o.Orders.Contains(2)) return _twoHopPhase ? 1 / 1.1 : 0;
            if (!o.Orders.Contains(2)) return 0;
            if (!o.Orders.Contains(1)) return 1;
            double w2 = 1 / o.HopRatio;
            return w2 / (1 + w2);
        }
    }

    public TokenBatch Next()
    {
        var o = Options;
        int b = o.BatchSize, t = o.SeqLen;
        var ids = new long[b * t];
        var labels = new long[b * t];
        _infos.Clear();
        _generated.Clear();
        var rng = o.Subject is { } subject
            ? QaRandom.Derive(o.Seed, o.Rank, o.Worker, o.Epoch, BatchIndex, 1 + (int)o.Mode!.Value, 1 + subject)
            : QaRandom.Derive(o.Seed, o.Rank, o.Worker, o.Epoch, BatchIndex, o.Mode is { } m ? 1 + (int)m : 0);
        double p2 = o.Mode is null ? TwoHopProbability : 0;
        for (int row = 0; row < b; row++)
            FillSequence(row, ids.AsSpan(row * t, t), labels.AsSpan(row * t, t), ref rng, p2);
        BatchIndex++;
        return new TokenBatch(b, t, ids, labels, _infos.ToArray());
    }

    Question Sample(ref QaRandom rng, double p2)
    {
        var o = Options;
        EvalMode mode;
        if (o.Mode is { } m) mode = m;
        else mode = p2 > 0 && (p2 >= 1 || rng.NextDouble() < p2) ? EvalMode.TrainTwohop : EvalMode.TrainOnehop;
        if (mode == EvalMode.TrainOnehop)
            return new Question(rng.Next(_db.Count), -1, o.Subject ?? rng.Next(Subjects.Count(_db.RelationCount)), mode);
        var (p, r, a) = _splits!.Sample(mode, ref rng);
        return new Question(p, r, o.Subject ?? a, mode);
    }

    // Writes pieces into a row; `_virt` is the untruncated position, so truncation is just clipping.
    int _virt;

    void Put(ReadOnlySpan<int> piece, Span<long> ids, Span<long> labels, bool label)
    {
        int t = ids.Length;
        int start = _virt;
        _virt += piece.Length;
        if (start >= t) return;
        int n = Math.Min(piece.Length, t - start);
        for (int i = 0; i < n; i++)
        {
            long id = piece[i];
            ids[start + i] = id;
            labels[start + i] = label ? id : TokenBatch.Ignore;
        }
    }

    void PutName(int p, int variant, Span<long> ids, Span<long> labels, bool label)
    {
        var c = _cache;
        if (c.NamesFromParts)
        {
            Put(c[c.First![_db.FirstNames.Ids[p]]], ids, labels, label);
            Put(c[c.Middle![_db.MiddleNames.Ids[p]]], ids, labels, label);
            Put(c[c.Last![variant][_db.LastNames.Ids[p]]], ids, labels, label);
        }
        else Put(c[c.WholeNames![variant][p]], ids, labels, label);
    }

    void PutValue(int profile, int subject, Span<long> ids, Span<long> labels)
    {
        var c = _cache;
        switch (subject)
        {
            case 0: Put(c[c.Dates[c.DatePiece[profile]]], ids, labels, true); break;
            case 1: Put(c[c.Cities[_db.BirthCities.Ids[profile]]], ids, labels, true); break;
            case 2: Put(c[c.Universities[_db.Universities.Ids[profile]]], ids, labels, true); break;
            case 3: Put(c[c.Employers[_db.Employers.Ids[profile]]], ids, labels, true); break;
            default: PutName(_db.RelationTargets[subject - AttributeNames.Count][profile], QaTokenCache.Plain, ids, labels, true); break;
        }
    }

    void FillSequence(int row, Span<long> ids, Span<long> labels, ref QaRandom rng, double p2)
    {
        int t = ids.Length;
        var c = _cache;
        bool cot = Options.Cot;
        _virt = 0;
        ReadOnlySpan<int> eos = [_eos];
        Put(eos, ids, labels, false); // BOS
        int examples = Options.ExamplesPerSequence;
        for (int e = 0; e < examples && _virt < t; e++)
        {
            if (e > 0) Put(eos, ids, labels, false);
            var q = Sample(ref rng, p2);
            Put(c[c.Prefix], ids, labels, false);
            PutName(q.Profile, QaTokenCache.Possessive, ids, labels, false);
            int answerProfile = q.Profile;
            if (q.Relation >= 0)
            {
                Put(c[c.RelationPossessive[q.Relation]], ids, labels, false);
                answerProfile = _db.RelationTargets[q.Relation][q.Profile];
            }
            Put(c[c.SubjectAsk[q.Subject]], ids, labels, false);
            int answerStart = _virt;
            if (Questions.HasCotAnswer(q, cot))
            {
                PutName(q.Profile, QaTokenCache.Possessive, ids, labels, true);
                Put(c[c.RelationIs[q.Relation]], ids, labels, true);
                PutName(answerProfile, QaTokenCache.Comma, ids, labels, true);
                Put(c[c.Their[q.Subject]], ids, labels, true);
            }
            PutValue(answerProfile, q.Subject, ids, labels);
            int answerEnd = _virt;
            int info = -1;
            if (answerStart < t)
            {
                // No EOS after the answer inside the sequence: the reference drops that last answer start, so
                // a truncated final answer carries no labels at all.
                bool truncated = answerEnd >= t;
                if (truncated) labels[answerStart..].Fill(TokenBatch.Ignore);
                info = _infos.Count;
                _infos.Add(new QuestionInfo(row, answerStart, Math.Min(answerEnd, t), (byte)q.Order, (byte)q.Subject, q.Mode, truncated));
            }
            _generated.Add(new GeneratedQuestion(row, q, info));
        }
        for (int i = _virt; i < t; i++) // pad a short sequence with EOS, unlabelled
        {
            ids[i] = _eos;
            labels[i] = TokenBatch.Ignore;
        }
    }
}
