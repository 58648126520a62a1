using System.Globalization;
using System.Text;
using ActorLab.Model.Common;
using ActorLab.Model.Probes;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Transformer;
using ScottPlot;
using static TorchSharp.torch;

namespace ActorLab.Model.Capacity;

/// <summary>
/// One 2-hop tuple (p, r, a) of an eval mode, s = p.r: the loss of "p's r's a" beside the losses of the two 1-hop
/// questions that compose it, "p's r" (first hop, answer s) and "s's a" (second hop). Losses in nats, summed over
/// the answer's tokens (SPEC 4's per-question loss).
/// </summary>
public sealed record GeneralizationRow(EvalMode Mode, int FirstPerson, int Relation, int Attribute, int SecondPerson,
    double TwoHopLoss, double FirstHopLoss, double SecondHopLoss);

/// <summary>
/// The reference's detailed generalisation analysis (detailed_generalization_eval.py), per eval mode: is a
/// held-out 2-hop question hard because the model does not compose, or because one of its hops is not known?
/// The reference pairs each complete_two_hop tuple with the 1-hop question (first person, attribute), which is not
/// a hop of the tuple; here both real hops are scored. Each question is scored alone, as the first example of a
/// sequence (BOS + "Question: ... Answer: ..."), with the run's chain-of-thought setting for 2-hop answers.
/// </summary>
public static class Generalization
{
    public const string CsvFile = "generalization.csv";
    public const string PlotFile = "generalization";

    /// <summary>Every 2-hop mode: the trained tuples (train_twohop) for comparison, and each held-out set.</summary>
    public static IReadOnlyList<EvalMode> DefaultModes { get; } = EvalModes.All.Where(m => m.IsTwoHop()).ToArray();

    public static List<GeneralizationRow> Evaluate(LlamaMup model, ProfileDatabase db, QaTokenizer tok, HeldOutSplits splits,
        IReadOnlyList<EvalMode> modes, int tuplesPerMode, int seed, bool cot, int batchSize = 256, Action<string>? warn = null)
    {
        if (tuplesPerMode < 1) throw new UserInputException($"--tuples must be >= 1, got {tuplesPerMode}");
        if (batchSize < 1) throw new UserInputException($"--batch-size must be >= 1, got {batchSize}");
        if (modes.Any(m => !m.IsTwoHop())) throw new UserInputException("train_onehop is not a 2-hop mode; the analysis reads 2-hop tuples");
        var questions = new ProbeQuestions(db, tok);
        var tuples = new List<Question>();
        foreach (var m in modes)
        {
            try { tuples.AddRange(ActivationCapture.Draw(db, splits, new CaptureSpec { Hops = 2, Mode = m, Samples = tuplesPerMode, Seed = seed })); }
            catch (InvalidOperationException e) { warn?.Invoke($"{m.Name()} skipped: {e.Message}"); } // an empty tuple set at this N, R
        }
        if (tuples.Count == 0) throw new UserInputException("none of the eval modes asked for has any 2-hop tuple");
        // 1-hop questions shared by several tuples are scored once.
        var oneHop = new HashSet<(int Profile, int Subject)>();
        foreach (var q in tuples)
        {
            oneHop.Add((q.Profile, Subjects.OfRelation(q.Relation)));
            oneHop.Add((db.Related(q.Relation, q.Profile), q.Subject));
        }
        var oneHopList = oneHop.ToList();
        var all = tuples.Concat(oneHopList.Select(x => Question.OneHop(x.Profile, x.Subject))).ToList();
        var losses = QuestionLosses(model, all.Select(q => Example(questions, tok, db, q, cot)).ToList(), tok.EosId, batchSize);
        var oneHopLoss = new Dictionary<(int, int), double>();
        for (int i = 0; i < oneHopList.Count; i++) oneHopLoss[oneHopList[i]] = losses[tuples.Count + i];
        return tuples.Select((q, i) =>
        {
            int s = db.Related(q.Relation, q.Profile);
            return new GeneralizationRow(q.Mode, q.Profile, q.Relation, q.Subject, s, losses[i],
                oneHopLoss[(q.Profile, Subjects.OfRelation(q.Relation))], oneHopLoss[(s, q.Subject)]);
        }).ToList();
    }

    /// <summary>The tokens of one example as training shows it first in a sequence, and where its answer starts.</summary>
    public static (int[] Tokens, int AnswerStart) Example(ProbeQuestions questions, QaTokenizer tok, ProfileDatabase db, Question q, bool cot)
    {
        var prompt = questions.Build(q).Tokens;
        // " {answer}" is its own run of pre-tokens after "Answer:", so encoding it alone gives the in-context ids.
        var answer = tok.Encode(" " + Questions.AnswerText(db, q, cot));
        return ([.. prompt, .. answer], prompt.Length);
    }

    /// <summary>Per example, the sum over its answer tokens of -log p(token | what precedes it), in nats.</summary>
    public static double[] QuestionLosses(LlamaMup model, IReadOnlyList<(int[] Tokens, int AnswerStart)> examples, int eos, int batchSize)
    {
        var result = new double[examples.Count];
        var device = model.parameters().First().device;
        using var _ = no_grad();
        for (int start = 0; start < examples.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            int b = Math.Min(batchSize, examples.Count - start), t = 0;
            for (int i = 0; i < b; i++) t = Math.Max(t, examples[start + i].Tokens.Length);
            // Right-padded with EOS, unlabelled: a causal model's answer losses cannot see the padding.
            var ids = new long[b * t];
            var labels = new long[b * t];
            Array.Fill(ids, eos);
            Array.Fill(labels, Qa.TokenBatch.Ignore);
            for (int i = 0; i < b; i++)
            {
                var (tokens, answerStart) = examples[start + i];
                for (int j = 0; j < tokens.Length; j++)
                {
                    ids[i * t + j] = tokens[j];
                    if (j >= answerStart) labels[i * t + j] = tokens[j];
                }
            }
            var input = tensor(ids, [b, t]).to(device);
            var lab = tensor(labels, [b, t]).to(device);
            var tokenLosses = LlamaMup.TokenLosses(model.forward(input), lab).to(float64).cpu().data<double>().ToArray();
            for (int i = 0; i < b; i++)
            {
                var (tokens, answerStart) = examples[start + i];
                double sum = 0;
                for (int j = answerStart; j < tokens.Length; j++) sum += tokenLosses[i * t + j];
                result[start + i] = sum;
            }
        }
        return result;
    }

    public static readonly string[] Columns =
        ["step", "mode", "first_person", "relation", "attribute", "second_person", "two_hop_loss", "first_hop_loss", "second_hop_loss"];

    public static string ToCsv(IEnumerable<GeneralizationRow> rows, long step)
    {
        var sb = new StringBuilder().AppendLine(string.Join(',', Columns));
        foreach (var r in rows)
            sb.AppendLine(string.Join(',', step.ToString(CultureInfo.InvariantCulture), r.Mode.Name(), I(r.FirstPerson),
                RelationNames.All[r.Relation], Subjects.Name(r.Attribute), I(r.SecondPerson), D(r.TwoHopLoss), D(r.FirstHopLoss), D(r.SecondHopLoss)));
        return sb.ToString();
    }

    /// <summary>
    /// 2-hop loss (y) against the sum of its two hops' losses (x), one colour per mode, with the line y = x: a tuple
    /// above it is harder than its two hops together (not composed); on it, as hard as its hops.
    /// </summary>
    public static Plot Plot(IReadOnlyList<GeneralizationRow> rows, string title)
    {
        var plt = new Plot();
        plt.Title(title);
        plt.XLabel("first-hop loss + second-hop loss (nats, 1-hop questions)");
        plt.YLabel("2-hop loss (nats)");
        var palette = new ScottPlot.Palettes.Category10();
        foreach (var g in rows.GroupBy(r => r.Mode).OrderBy(g => g.Key))
        {
            var sc = plt.Add.ScatterPoints(g.Select(r => r.FirstHopLoss + r.SecondHopLoss).ToArray(), g.Select(r => r.TwoHopLoss).ToArray(),
                palette.GetColor((int)g.Key));
            sc.LegendText = $"{g.Key.Name()} (mean 2-hop {g.Average(r => r.TwoHopLoss):F2}, hops {g.Average(r => r.FirstHopLoss + r.SecondHopLoss):F2})";
            sc.MarkerSize = 4;
        }
        double max = rows.Count == 0 ? 1 : Math.Max(1e-3, rows.Max(r => Math.Max(r.TwoHopLoss, r.FirstHopLoss + r.SecondHopLoss)));
        var diagonal = plt.Add.Line(0, 0, max, max);
        diagonal.Color = Colors.Gray;
        diagonal.LegendText = "2-hop = sum of its hops";
        plt.ShowLegend(Alignment.UpperLeft);
        return plt;
    }

    /// <summary>Writes generalization.csv and the plot (PNG and SVG) into <paramref name="outDir"/>; returns the files.</summary>
    public static IReadOnlyList<string> Write(string outDir, IReadOnlyList<GeneralizationRow> rows, long step, string title)
    {
        Directory.CreateDirectory(outDir);
        var csv = Path.Combine(outDir, CsvFile);
        AtomicFile.WriteAllText(csv, ToCsv(rows, step));
        return [csv, .. CapacityPlots.Save(Plot(rows, title), Path.Combine(outDir, PlotFile))];
    }

    static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
    static string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
