using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Transformer;
using static TorchSharp.torch;

namespace ActorLab.Model.Probes;

/// <summary>How probe questions are divided into the probes' train and eval sets.</summary>
public enum ProbeSplit
{
    /// <summary>By the question's (first) person: eval people are never seen by the probe in training.</summary>
    Person,
    /// <summary>By question: eval questions are distinct from training ones but may be about the same people.</summary>
    Question,
}

/// <summary>Which questions to capture hidden states for.</summary>
public sealed record CaptureSpec
{
    public int Hops { get; init; } = 2;
    /// <summary>Where 2-hop questions come from (default train_twohop: tuples the model was trained on). 1-hop uses train_onehop.</summary>
    public EvalMode? Mode { get; init; }
    /// <summary>Distinct questions to draw (fewer when the dataset has fewer).</summary>
    public int Samples { get; init; } = 10000;
    /// <summary>Share of the questions held out to score the probes (the rest trains them).</summary>
    public double EvalFraction { get; init; } = 0.2;
    public int Seed { get; init; }
    /// <summary>Questions per forward pass.</summary>
    public int BatchSize { get; init; } = 256;
    /// <summary>
    /// How questions are split between probe training and probe eval: by first person (default: every question
    /// about a person is on one side, so a probe cannot pass by looking up a person it was trained on) or by question.
    /// </summary>
    public ProbeSplit Split { get; init; } = ProbeSplit.Person;

    public EvalMode EffectiveMode => Hops == 1 ? EvalMode.TrainOnehop : Mode ?? EvalMode.TrainTwohop;

    public void Validate()
    {
        if (Hops is not (1 or 2)) throw new UserInputException($"--hops must be 1 or 2, got {Hops}");
        if (Hops == 1 && Mode is { } m && m != EvalMode.TrainOnehop)
            throw new UserInputException($"1-hop probes read train_onehop questions; --mode {m.Name()} is a 2-hop mode");
        if (Hops == 2 && Mode == EvalMode.TrainOnehop)
            throw new UserInputException("--mode train_onehop asks 1-hop questions; use --hops 1");
        if (Samples < 10) throw new UserInputException($"--samples must be at least 10, got {Samples}");
        if (!(EvalFraction > 0 && EvalFraction < 1)) throw new UserInputException($"--eval-fraction must be in (0, 1), got {EvalFraction}");
        if (BatchSize < 1) throw new UserInputException($"batch size must be >= 1, got {BatchSize}");
    }
}

/// <summary>
/// Captures the residual stream of a <see cref="LlamaMup"/> (embeddings = layer 0, after block l = layer l) at the
/// name, relation, subject and final prompt tokens of probe questions (<see cref="ProbeQuestions"/>), with the
/// targets (first answer token; for 2-hop also the middle person's first name token) and the model's own loss
/// on the first answer token at the final prompt token. The model must already be at its eval point
/// (schedule-free: x) and in eval mode.
/// </summary>
public static class ActivationCapture
{
    public static ActivationSet Capture(LlamaMup model, ProfileDatabase db, QaTokenizer tok, HeldOutSplits? splits,
        CaptureSpec spec, ProbeQuestions? questions = null, IReadOnlyDictionary<string, string>? description = null)
    {
        spec.Validate();
        if (spec.Hops == 2 && db.RelationCount == 0) throw new UserInputException("2-hop probes need a dataset with relations");
        if (spec.Hops == 2 && splits is null) throw new UserInputException("2-hop probes need the run's held-out splits");
        if (tok.VocabSize > model.Config.VocabSize)
            throw new UserInputException($"the tokenizer has {tok.VocabSize} tokens but the model only {model.Config.VocabSize}");
        questions ??= new ProbeQuestions(db, tok);
        var drawn = Draw(db, splits, spec);
        var prompts = drawn.Select(questions.Build).ToArray();
        int n = prompts.Length;
        if (n < 10) throw new UserInputException($"only {n} distinct {spec.EffectiveMode.Name()} questions exist; probes need at least 10");

        int layers = model.Config.Layers + 1, d = model.Config.Width;
        string[] kinds = spec.Hops == 2
            ? [ProbePositions.Name, ProbePositions.Relation, ProbePositions.Attribute, ProbePositions.Last]
            : [ProbePositions.Name, ProbePositions.Attribute, ProbePositions.Last];
        var buffers = new Dictionary<(int Layer, string Position), float[]>();
        for (int l = 0; l < layers; l++)
            foreach (var k in kinds) buffers[(l, k)] = new float[n * d];
        var modelLoss = new double[n];
        var device = model.parameters().First().device;

        using (no_grad())
        {
            for (int start = 0; start < n; start += spec.BatchSize)
            {
                var batch = prompts.AsSpan(start, Math.Min(spec.BatchSize, n - start)).ToArray();
                using var scope = NewDisposeScope();
                int b = batch.Length, t = batch.Max(p => p.Tokens.Length);
                // Right-pad with EOS: the model is causal, so padding after a prompt cannot change its states.
                var ids = new long[b * t];
                Array.Fill(ids, tok.EosId);
                for (int i = 0; i < b; i++)
                    for (int j = 0; j < batch[i].Tokens.Length; j++) ids[i * t + j] = batch[i].Tokens[j];
                var input = tensor(ids, [b, t]).to(device);
                var rows = tensor(Enumerable.Range(0, b).Select(i => (long)i).ToArray()).to(device);
                var posIdx = kinds.ToDictionary(k => k, k => tensor(batch.Select(p => (long)p.PositionOf(k)).ToArray()).to(device));
                var logits = model.Forward(input, (layer, h) =>
                {
                    foreach (var k in kinds)
                    {
                        using var sel = h.index(rows, posIdx[k]).to(float32).cpu();
                        sel.data<float>().CopyTo(buffers[(layer, k)].AsSpan(start * d, b * d));
                    }
                });
                ModelLoss(logits, rows, posIdx[ProbePositions.Last], batch.Select(p => p.AnswerToken).ToArray()).CopyTo(modelLoss, start);
            }
        }

        var states = buffers.ToDictionary(kv => kv.Key, kv => tensor(kv.Value, [n, d]));
        var targets = new Dictionary<string, long[]> { [ProbeTargets.Answer] = prompts.Select(p => p.AnswerToken).ToArray() };
        if (spec.Hops == 2) targets[ProbeTargets.FirstHop] = prompts.Select(p => p.FirstHopToken).ToArray();
        var isEval = SplitEval(drawn, spec);
        var desc = new Dictionary<string, string>(description ?? new Dictionary<string, string>())
        {
            ["mode"] = spec.EffectiveMode.Name(),
            ["samples"] = n.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["capture_seed"] = spec.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["split"] = spec.Split == ProbeSplit.Person ? "person" : "question",
        };
        // Split by person: the CV folds inside the training people are split by person too.
        var groups = spec.Split == ProbeSplit.Person ? drawn.Select(q => q.Profile).ToArray() : null;
        return new ActivationSet(spec.Hops, layers, states, targets, modelLoss, isEval, desc, groups);
    }

    /// <summary>The model's -log p(token | prompt) in nats at (row, position) of each sample, from logits [B, T, V].</summary>
    internal static double[] ModelLoss(Tensor logits, Tensor rows, Tensor positions, long[] tokens)
    {
        using var scope = NewDisposeScope();
        var at = logits.index(rows, positions).to(float32);
        var target = tensor(tokens).to(logits.device);
        return (-at.log_softmax(-1).gather(1, target.unsqueeze(1)).squeeze(1)).to(float64).cpu().data<double>().ToArray();
    }

    /// <summary>
    /// Which questions score the probes (true) rather than train them. By question: the last share (questions are
    /// drawn i.i.d. and distinct). By person: whole people, in a seeded shuffle, until their questions reach the share.
    /// </summary>
    public static bool[] SplitEval(IReadOnlyList<Question> questions, CaptureSpec spec)
    {
        int n = questions.Count;
        int target = Math.Max(1, (int)Math.Round(n * spec.EvalFraction));
        if (spec.Split == ProbeSplit.Question)
            return Enumerable.Range(0, n).Select(i => i >= n - target).ToArray();
        var perPerson = questions.GroupBy(q => q.Profile).ToDictionary(g => g.Key, g => g.Count());
        if (perPerson.Count < 2)
            throw new UserInputException($"a split by person needs questions about at least 2 people, these are all about one");
        var people = perPerson.Keys.Order().ToArray();
        new Random(spec.Seed).Shuffle(people);
        var eval = new HashSet<int>();
        int count = 0;
        foreach (var p in people)
        {
            if (count >= target || eval.Count == people.Length - 1) break;
            eval.Add(p);
            count += perPerson[p];
        }
        return questions.Select(q => eval.Contains(q.Profile)).ToArray();
    }

    /// <summary>Up to <see cref="CaptureSpec.Samples"/> distinct questions of the spec's mode, drawn from its seed.</summary>
    public static List<Question> Draw(ProfileDatabase db, HeldOutSplits? splits, CaptureSpec spec)
    {
        var rng = QaRandom.Derive(spec.Seed, 0x9e0be5);
        var mode = spec.EffectiveMode;
        int subjects = Subjects.Count(db.RelationCount);
        var seen = new HashSet<(int, int, int)>();
        var list = new List<Question>(spec.Samples);
        // Stop after many draws in a row add nothing new: the mode has fewer distinct questions than asked for.
        for (int misses = 0; list.Count < spec.Samples && misses < 10 * spec.Samples + 1000;)
        {
            Question q;
            if (mode == EvalMode.TrainOnehop) q = Question.OneHop(rng.Next(db.Count), rng.Next(subjects));
            else
            {
                var (p, r, a) = splits!.Sample(mode, ref rng);
                q = new Question(p, r, a, mode);
            }
            if (seen.Add((q.Profile, q.Relation, q.Subject))) { list.Add(q); misses = 0; }
            else misses++;
        }
        return list;
    }
}
