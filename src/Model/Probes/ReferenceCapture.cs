using System.Globalization;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Transformer;
using static TorchSharp.torch;

namespace ActorLab.Model.Probes;

/// <summary>Where one probe question sits inside a packed sequence (reference probes).</summary>
public readonly record struct PackedQuestion(int Row, int NameFirst, int NameSecond, int RelationFirst, int SubjectFirst, int Last, long BridgeToken);

/// <summary>
/// Probes as the reference reads them (transformer-reasoning train_probe.py), so results compare with its numbers:
/// 2-hop questions read where training put them, inside packed training sequences; the target is the bridge
/// entity's first token (the first token of the name of p.r, "first-hop"); the positions are the first two name
/// tokens side by side ("name", 2 d wide), the first relation token ("relation") and the first subject token
/// ("attribute"), and all of them ("all", 4 d); only the first 4 relations (one token each in the reference's
/// tokenizer); a random 95/5 train/eval split of the questions from the seed; the model's loss is its
/// -log p(bridge token) at the final prompt token, as the reference reports it.
/// Differences kept on purpose: the reference answers its probe questions with the bridge name inside the packed
/// sequence (later questions of a row follow that off-distribution text); here rows are the run's own stream.
/// </summary>
public static class ReferenceCapture
{
    /// <summary>The reference keeps the first 4 relations: the only ones its tokenizer writes as one token.</summary>
    public const int Relations = 4;
    public const double TrainFraction = 0.95;
    /// <summary>Packed sequences per forward pass (the reference's batch_size).</summary>
    public const int SequencesPerBatch = 32;
    /// <summary>Fewest questions for which 5% is at least one eval question.</summary>
    public const int MinSamples = 20;

    /// <summary>
    /// Finds <paramref name="q"/> in <paramref name="row"/> given where its answer starts: its prompt (with the EOS
    /// before it) must end just there, token for token, or the stream and the probe questions disagree (a bug).
    /// </summary>
    public static PackedQuestion Locate(ProbeQuestions questions, ReadOnlySpan<long> row, int rowIndex, Question q, int answerStart)
    {
        if (q.Relation < 0) throw new ArgumentException("reference probes read 2-hop questions only", nameof(q));
        var p = questions.Build(q);
        int offset = answerStart - p.Tokens.Length;
        if (offset < 0 || answerStart > row.Length)
            throw new InvalidOperationException($"question ({q.Profile}, {q.Relation}, {q.Subject}) cannot end at {answerStart} in a row of {row.Length}");
        for (int i = 0; i < p.Tokens.Length; i++)
            if (row[offset + i] != p.Tokens[i])
                throw new InvalidOperationException($"row {rowIndex} does not hold question ({q.Profile}, {q.Relation}, {q.Subject}) before position {answerStart}");
        return new PackedQuestion(rowIndex, offset + p.NameStart, offset + p.NameStart + 1, offset + p.RelationStart,
            offset + p.SubjectStart, answerStart - 1, p.FirstHopToken);
    }

    public static void CheckSamples(int samples)
    {
        if (samples < MinSamples)
            throw new UserInputException($"--samples must be at least {MinSamples} with --reference (5% of them score the probes), got {samples}");
    }

    /// <summary>Eval (true) or train for each of n questions: a seeded shuffle, the first int(0.95 n) train.</summary>
    public static bool[] RandomSplit(int n, int seed)
    {
        int train = (int)(TrainFraction * n);
        if (n < MinSamples || train == n)
            throw new UserInputException($"reference probes need at least {MinSamples} questions for a 95/5 split, got {n}");
        var perm = Enumerable.Range(0, n).ToArray();
        new Random(seed).Shuffle(perm);
        var isEval = new bool[n];
        for (int i = train; i < n; i++) isEval[perm[i]] = true;
        return isEval;
    }

    /// <summary>
    /// Captures <see cref="CaptureSpec.Samples"/> questions of the spec's mode from packed sequences of the run's
    /// length (<paramref name="seqLen"/>, chain-of-thought answers when <paramref name="cot"/>), drawn from the spec's seed.
    /// </summary>
    public static ActivationSet Capture(LlamaMup model, ProfileDatabase db, QaTokenizer tok, HeldOutSplits? splits, CaptureSpec spec,
        int seqLen, bool cot, IReadOnlyDictionary<string, string>? description = null)
    {
        spec.Validate();
        if (spec.Hops != 2) throw new UserInputException("--reference probes read 2-hop questions (their target is the bridge entity); drop --hops 1");
        if (db.RelationCount == 0 || splits is null) throw new UserInputException("--reference probes need a run trained on 2-hop questions (with held-out splits)");
        CheckSamples(spec.Samples);
        if (tok.VocabSize > model.Config.VocabSize)
            throw new UserInputException($"the tokenizer has {tok.VocabSize} tokens but the model only {model.Config.VocabSize}");
        var cache = new QaTokenCache(db, tok);
        var questions = new ProbeQuestions(db, tok, cache);
        var mode = spec.EffectiveMode;
        var stream = new QaStream(db, tok, splits, new QaStreamOptions([2], SeqLen: seqLen, BatchSize: SequencesPerBatch, Cot: cot, Seed: spec.Seed, Mode: mode), cache);

        int layers = model.Config.Layers + 1;
        string[] kinds = [ProbePositions.Name, ProbePositions.Relation, ProbePositions.Attribute];
        var chunks = new Dictionary<(int Layer, string Position), List<Tensor>>();
        foreach (var k in kinds)
            for (int l = 0; l < layers; l++) chunks[(l, k)] = [];
        var bridge = new List<long>();
        var modelLoss = new List<double>();
        var device = model.parameters().First().device;
        int emptyBatches = 0;

        using (no_grad())
        {
            while (bridge.Count < spec.Samples)
            {
                var batch = stream.Next();
                int t = batch.SeqLen;
                var found = new List<PackedQuestion>();
                foreach (var g in stream.LastQuestions)
                {
                    if (bridge.Count + found.Count == spec.Samples) break;
                    // As the reference: a question is found by its labelled answer, which a truncated final example lacks.
                    if (g.InfoIndex < 0 || g.Question.Relation >= Relations || batch.Questions[g.InfoIndex].Truncated) continue;
                    found.Add(Locate(questions, batch.InputIds.AsSpan(g.Sequence * t, t), g.Sequence, g.Question, batch.Questions[g.InfoIndex].AnswerStart));
                }
                if (found.Count == 0)
                {
                    if (++emptyBatches >= 100)
                        throw new UserInputException($"{mode.Name()} asks no questions about the first {Relations} relations that reference probes read");
                    continue;
                }
                using var scope = NewDisposeScope();
                var input = tensor(batch.InputIds, [batch.BatchSize, t]).to(device);
                Tensor Idx(Func<PackedQuestion, int> f) => tensor(found.Select(x => (long)f(x)).ToArray()).to(device);
                var rows = Idx(x => x.Row);
                var at = new Dictionary<string, Tensor[]>
                {
                    [ProbePositions.Name] = [Idx(x => x.NameFirst), Idx(x => x.NameSecond)],
                    [ProbePositions.Relation] = [Idx(x => x.RelationFirst)],
                    [ProbePositions.Attribute] = [Idx(x => x.SubjectFirst)],
                };
                var logits = model.Forward(input, (layer, h) =>
                {
                    foreach (var k in kinds)
                        chunks[(layer, k)].Add(cat(at[k].Select(pos => h.index(rows, pos)).ToArray(), 1).to(float32).cpu().DetachFromDisposeScope());
                });
                modelLoss.AddRange(ActivationCapture.ModelLoss(logits, rows, Idx(x => x.Last), found.Select(x => x.BridgeToken).ToArray()));
                bridge.AddRange(found.Select(x => x.BridgeToken));
            }
        }

        var states = new Dictionary<(int Layer, string Position), Tensor>();
        foreach (var (key, list) in chunks)
        {
            states[key] = cat(list.ToArray(), 0).DetachFromDisposeScope();
            foreach (var c in list) c.Dispose();
        }
        int n = bridge.Count;
        var desc = new Dictionary<string, string>(description ?? new Dictionary<string, string>())
        {
            ["mode"] = mode.Name(),
            ["samples"] = n.ToString(CultureInfo.InvariantCulture),
            ["capture_seed"] = spec.Seed.ToString(CultureInfo.InvariantCulture),
            ["split"] = "random 95/5",
            ["positions"] = "reference: first two name tokens, first relation token, first subject token",
        };
        return new ActivationSet(2, layers, states, new Dictionary<string, long[]> { [ProbeTargets.FirstHop] = bridge.ToArray() },
            modelLoss.ToArray(), RandomSplit(n, spec.Seed), desc) { ModelLossTarget = ProbeTargets.FirstHop };
    }
}
