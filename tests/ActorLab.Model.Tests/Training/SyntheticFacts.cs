using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Model.Tests.Training;

/// <summary>
/// A tiny stand-in for the QA stream: N "profiles", each a key of <see cref="KeyLen"/> tokens (distinct tokens when
/// KeyLen is 1; unique combinations of <see cref="KeyVocab"/> tokens otherwise, so facts must live in the network,
/// not in per-key embeddings) with an answer of <see cref="AnswerLen"/> tokens drawn once from a seed. A sequence is BOS, then examples "key SEP answer EOS" packed until full, padded
/// with EOS (ignored labels). Deterministic in (seed, batch index), like the real stream.
/// </summary>
public sealed class SyntheticFacts
{
    public const int Bos = 0, Sep = 1, Pad = 2, FirstKey = 3;
    public int Facts { get; }
    public int AnswerLen { get; }
    public int AnswerVocab { get; }
    public int KeyLen { get; }
    public int KeyVocab { get; }
    public int VocabSize => FirstKey + KeyVocab + AnswerVocab;
    readonly int[][] keys;
    readonly int[][] answers;

    public SyntheticFacts(int facts, int answerVocab, int answerLen, int seed, int keyLen = 1, int keyVocab = 0)
    {
        Facts = facts;
        AnswerLen = answerLen;
        AnswerVocab = answerVocab;
        KeyLen = keyLen;
        KeyVocab = keyLen == 1 ? facts : keyVocab;
        if (Math.Pow(KeyVocab, keyLen) < facts) throw new ArgumentException("not enough distinct keys");
        var rng = new Random(seed);
        var seen = new HashSet<string>();
        keys = new int[facts][];
        for (int f = 0; f < facts; f++)
        {
            if (keyLen == 1) { keys[f] = [FirstKey + f]; continue; }
            int[] k;
            do k = Enumerable.Range(0, keyLen).Select(_ => FirstKey + rng.Next(KeyVocab)).ToArray();
            while (!seen.Add(string.Join(",", k)));
            keys[f] = k;
        }
        answers = Enumerable.Range(0, facts)
            .Select(_ => Enumerable.Range(0, answerLen).Select(_ => FirstKey + KeyVocab + rng.Next(answerVocab)).ToArray())
            .ToArray();
    }

    /// <summary>Bits needed to store every answer.</summary>
    public double Bits => Facts * AnswerLen * Math.Log2(AnswerVocab);

    public Func<TokenBatch> Stream(int batchSize, int seqLen, int seed, long startBatch = 0, EvalMode mode = EvalMode.TrainOnehop)
    {
        long index = startBatch;
        return () => Batch(batchSize, seqLen, seed, index++, mode);
    }

    public TokenBatch Batch(int batchSize, int seqLen, int seed, long index, EvalMode mode = EvalMode.TrainOnehop)
    {
        var rng = new Random(unchecked((int)(seed * 1_000_003L + index * 7919L)));
        var ids = new long[batchSize * seqLen];
        var labels = new long[batchSize * seqLen];
        Array.Fill(ids, Pad);
        Array.Fill(labels, TokenBatch.Ignore);
        var questions = new List<QuestionInfo>();
        int exampleLen = KeyLen + 1 + AnswerLen + 1;
        for (int b = 0; b < batchSize; b++)
        {
            int o = b * seqLen;
            ids[o] = Bos;
            int pos = 1;
            while (pos + exampleLen <= seqLen)
            {
                int f = rng.Next(Facts);
                for (int k = 0; k < KeyLen; k++) ids[o + pos + k] = keys[f][k];
                int a0 = pos + KeyLen + 1;
                ids[o + a0 - 1] = Sep;
                for (int a = 0; a < AnswerLen; a++)
                {
                    ids[o + a0 + a] = answers[f][a];
                    labels[o + a0 + a] = answers[f][a];
                }
                ids[o + a0 + AnswerLen] = Bos; // EOS = BOS
                questions.Add(new QuestionInfo(b, a0, a0 + AnswerLen, 1, (byte)(f % 4), mode, false));
                pos += exampleLen;
            }
        }
        return new TokenBatch(batchSize, seqLen, ids, labels, questions.ToArray());
    }

    /// <summary>A run config for a model of the given width and layers (budget chosen so the sizing lands on it).</summary>
    public static RunConfig Run(int width, int layers, string optimizer = "schedulefree", double lr = 1e-3, int seed = 1,
        int batchSize = 8, int seqLen = 32, double wd = 0.0, long maxSteps = 1000, int warmup = 3, int evalQuestions = 50) => new()
    {
        RunName = "test",
        Profiles = "synthetic",
        Tokenizer = "synthetic",
        NProfiles = 0,
        Relations = 0,
        NParams = 0,
        ParamBudget = 320000L + 12L * layers * width * width + 1,
        Layers = layers,
        MinOrder = 1,
        MaxOrder = 1,
        Optimizer = optimizer,
        Lr = lr,
        Beta1 = 0.9,
        WeightDecay = wd,
        BatchSize = batchSize,
        SeqLen = seqLen,
        MaxSteps = maxSteps,
        Seed = seed,
        WarmupSteps = warmup,
        EvalQuestions = evalQuestions,
        EvalSchedule = CheckpointSchedule.Explicit([]),
        KeepLast = 10,
    };
}
