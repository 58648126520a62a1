using System.Diagnostics;
using System.Globalization;
using System.Text;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;

namespace ActorLab.Bench;

/// <summary>
/// Subject-wise re-evaluation throughput (`actorlab eval --results DIR --subjectwise`): checkpoints per minute for one
/// slot (one process, --threads torch threads) at the quickstart sizes, a 1M-parameter budget, 4 layers, eval batches of
/// 32 x 512, on a 1+2-hop run (9 modes x (4 + R) subjects, at least --eval-questions questions each). The same K
/// checkpoints are re-evaluated --repeats times from scratch (the resumable files removed in between); the table
/// gives every repeat and the spread.
/// Args: [--n 1000] [--relations 4] [--budget 1000000] [--layers 4] [--vocab 3000] [--batch 32] [--seq 512]
/// [--checkpoints 3] [--repeats 3] [--eval-questions 1000] [--threads 1]
/// </summary>
public static class ReevalBench
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        var o = TrainBench.Args(args);
        int n = o.Int("n", 1000), relations = o.Int("relations", 4), layers = o.Int("layers", 4), vocab = o.Int("vocab", 3000),
            batch = o.Int("batch", 32), seq = o.Int("seq", 512), k = o.Int("checkpoints", 3), repeats = o.Int("repeats", 3),
            questions = o.Int("eval-questions", 1000), threads = o.Int("threads", 1);
        long budget = o.Int("budget", 1_000_000);

        var dir = Directory.CreateTempSubdirectory("actorlab-bench-reeval-").FullName;
        try
        {
            var clock = Stopwatch.StartNew();
            var db = ProfileGenerator.Generate(new ProfileGeneratorConfig(n, relations, Seed: 1), ValueLists.Default);
            var tok = QaTokenizer.Train(QaCorpus.Texts(db, 0), vocab);
            var data = new LoadedDataset(db, tok, new QaTokenCache(db, tok));
            var options = new TrainerOptions { VocabSize = tok.VocabSize, Threads = threads, Warn = Console.Error.WriteLine };
            var run = new RunConfig
            {
                RunName = "bench-reeval", Profiles = "bench", Tokenizer = "bench", NProfiles = n, Relations = relations, NParams = 0,
                ParamBudget = budget, Layers = layers, MinOrder = 1, MaxOrder = 2, BatchSize = batch, SeqLen = seq,
                MaxSteps = 1_000_000, EvalQuestions = questions, EvalSchedule = CheckpointSchedule.Explicit([]), KeepLast = k,
            };
            var runDir = Path.Combine(dir, "results", "run");
            long parameters;
            var stepSeconds = new List<double>();
            using (var s = RunSession.Open(run, new RunFolder(runDir, null), data, options))
            using (var feed = s.OpenPrefetcher())
            {
                parameters = s.Core.Model.ParameterCount;
                // the peer: training steps of the same run on the same slot (one warm-up, then timed)
                for (int i = 0; i < 4; i++)
                {
                    var sw = Stopwatch.StartNew();
                    s.Core.TrainStep(feed.Take(CancellationToken.None));
                    if (i > 0) stepSeconds.Add(sw.Elapsed.TotalSeconds);
                }
                for (int c = 0; c < k; c++)
                {
                    s.Core.TrainStep(feed.Take(CancellationToken.None)); // distinct weights per checkpoint
                    s.Core.SaveCheckpoint();
                }
            }
            double step = stepSeconds.Order().ElementAt(stepSeconds.Count / 2);
            Console.Error.WriteLine($"setup: {n} profiles, r{relations}, vocab {tok.VocabSize}, {parameters:N0} parameters, {k} checkpoints in {clock.Elapsed.TotalSeconds:F1} s");

            var seconds = new List<double>();
            long questionsAsked = 0;
            for (int rep = 0; rep < repeats; rep++)
            {
                File.Delete(Path.Combine(runDir, EvalResultsCsv.FullFileName));
                File.Delete(Path.Combine(runDir, EvalResultsCsv.HistogramFileName));
                var sw = Stopwatch.StartNew();
                var done = Reevaluation.Run(Path.Combine(dir, "results"), k, options, questions, (_, _) => data, _ => { }).Single();
                seconds.Add(sw.Elapsed.TotalSeconds);
                if (done.Evaluated != k) throw new InvalidOperationException($"repeat {rep}: {done.Evaluated} of {k} checkpoints evaluated ({done.Error})");
                questionsAsked = File.ReadAllLines(Path.Combine(runDir, EvalResultsCsv.HistogramFileName)).Skip(1).Sum(l => long.Parse(l.Split(',')[5], Inv));
                Console.Error.WriteLine(string.Create(Inv, $"repeat {rep + 1}: {k} checkpoints in {seconds[^1]:F1} s = {60 * k / seconds[^1]:F2} checkpoints/min"));
            }

            var perMin = seconds.Select(x => 60 * k / x).ToArray();
            double mean = perMin.Average(), sd = Math.Sqrt(perMin.Sum(x => (x - mean) * (x - mean)) / Math.Max(1, perMin.Length - 1));
            int subjects = Subjects.Count(relations);
            var md = new StringBuilder()
                .AppendLine("# Subject-wise re-evaluation benchmark (CPU)")
                .AppendLine()
                .AppendLine($"`dotnet run --project bench/ActorLab.Bench -c Release -- reeval {string.Join(' ', args)}` on {BenchResults.Machine()}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC,")
                .AppendLine(string.Create(Inv, $"load average at the end {TrainBench.LoadAverage()}. One slot = one process with {threads} torch thread(s). Run: {n} profiles, r{relations}, orders 1+2,"))
                .AppendLine(string.Create(Inv, $"budget {budget:N0} ({parameters:N0} parameters), {layers} layers, vocab {tok.VocabSize}, eval batches {batch} x {seq}; each checkpoint asks 9 modes x {subjects} subjects,"))
                .AppendLine(string.Create(Inv, $">= {questions} questions each ({questionsAsked / k:N0} questions per checkpoint), and writes eval_results_full.csv and eval_histograms_full.csv."))
                .AppendLine()
                .AppendLine($"| repeat | seconds for {k} checkpoint(s) | checkpoints / min / slot |")
                .AppendLine("|---:|---:|---:|");
            for (int i = 0; i < repeats; i++) md.AppendLine(string.Create(Inv, $"| {i + 1} | {seconds[i]:F1} | {perMin[i]:F3} |"));
            md.AppendLine()
                .AppendLine(string.Create(Inv, $"**{mean:F3} checkpoints/min per slot** (mean of {repeats}; min {perMin.Min():F3}, max {perMin.Max():F3}, sd {sd:F3}, spread {(perMin.Max() - perMin.Min()) / mean * 100:F0}% of the mean)."))
                .AppendLine()
                .AppendLine(string.Create(Inv, $"Peer, same run and slot: a training step takes {step:F2} s (median of {stepSeconds.Count}), so re-evaluating one checkpoint costs about {60 / mean / step:F0} training steps."));
            var path = BenchResults.Write(o.Str("tag", "") is { Length: > 0 } tag ? $"reeval-{tag}" : "reeval", md.ToString());
            Console.WriteLine(md.ToString());
            Console.Error.WriteLine($"wrote {path}");
            return 0;
        }
        finally { Directory.Delete(dir, true); }
    }
}
