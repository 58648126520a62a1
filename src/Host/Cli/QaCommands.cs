using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;

namespace ActorLab.Host.Cli;

/// <summary>`actorlab qa sample|splits`: look at the Q&amp;A token stream and the held-out splits (SPEC 2).</summary>
public static class QaCommands
{
    public static Command Build()
    {
        var qa = new Command("qa", "Inspect the Q&A token stream and the held-out 2-hop splits.");
        qa.Subcommands.Add(Sample());
        qa.Subcommands.Add(Splits());
        return qa;
    }

    public static int[] ParseOrders(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var orders = new List<int>();
        foreach (var p in parts)
        {
            if (!int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var o) || o is not (1 or 2) || orders.Contains(o))
                throw new UserInputException($"--orders '{text}' must be a non-empty subset of 1,2 (e.g. 1 or 1,2).");
            orders.Add(o);
        }
        if (orders.Count == 0) throw new UserInputException($"--orders '{text}' must be a non-empty subset of 1,2 (e.g. 1 or 1,2).");
        orders.Sort();
        return orders.ToArray();
    }

    public static EvalMode ParseMode(string text) => EvalModes.TryParse(text)
        ?? throw new UserInputException($"--mode '{text}' is not an eval mode; use one of: {string.Join(", ", EvalModes.All.Select(m => m.Name()))}.");

    static Command Sample()
    {
        var profiles = new Option<string>("--profiles") { Description = "Profiles parquet.", Required = true };
        var tokenizer = new Option<string>("--tokenizer") { Description = "Tokenizer folder from `actorlab tokenizer train`.", Required = true };
        var orders = new Option<string>("--orders") { Description = "Question orders, a subset of 1,2.", DefaultValueFactory = _ => "1,2" };
        var hopRatio = new Option<double>("--hop-ratio") { Description = "h: orders 1,2 get weights [1, 1/h].", DefaultValueFactory = _ => 0.1 };
        var mode = new Option<string?>("--mode") { Description = "Draw every question for this eval mode (train_onehop, train_twohop, eval_*) instead of the training mix." };
        var count = new Option<int>("--count") { Description = "Number of packed sequences to print.", DefaultValueFactory = _ => 2 };
        var seed = new Option<int>("--seed") { Description = "Stream seed; also the held-out split seed.", DefaultValueFactory = _ => 0 };
        var seqLen = new Option<int>("--seq-len") { Description = "Sequence length in tokens.", DefaultValueFactory = _ => 512 };
        var cot = new Option<bool>("--cot") { Description = "Chain-of-thought answers for 2-hop questions." };
        var json = new Option<bool>("--json") { Description = "One JSON object per sequence: text, input_ids, labels (-100 = ignored), questions." };
        var cmd = new Command("sample", "Print packed, labelled sequences as the trainer sees them.")
        {
            profiles, tokenizer, orders, hopRatio, mode, count, seed, seqLen, cot, json,
        };
        cmd.SetAction(pr =>
        {
            var modeText = pr.GetValue(mode);
            EvalMode? m = modeText is null ? null : ParseMode(modeText);
            int k = pr.GetValue(count);
            if (k < 1) throw new UserInputException($"--count {k} must be at least 1.");
            var options = new QaStreamOptions(ParseOrders(pr.GetValue(orders)!), pr.GetValue(hopRatio), pr.GetValue(seqLen),
                BatchSize: 1, Cot: pr.GetValue(cot), Seed: pr.GetValue(seed), Mode: m);
            QaStream.Validate(options);
            var tok = QaTokenizer.Load(pr.GetValue(tokenizer)!);
            var db = ProfileParquet.Read(pr.GetValue(profiles)!);
            var splits = options.HasTwoHop ? HeldOutSplits.Build(db, options.Seed) : null;
            var stream = new QaStream(db, tok, splits, options);
            for (int i = 0; i < k; i++)
            {
                var batch = stream.Next();
                var qs = stream.LastQuestions.Where(g => g.InfoIndex >= 0).ToArray();
                if (pr.GetValue(json)) Console.WriteLine(SequenceJson(db, tok, batch, qs, options.Cot));
                else PrintSequence(i, db, tok, batch, qs, options.Cot);
            }
            return 0;
        });
        return cmd;
    }

    static string SequenceJson(ProfileDatabase db, QaTokenizer tok, TokenBatch batch, GeneratedQuestion[] qs, bool cot)
    {
        var questions = new JsonArray();
        foreach (var g in qs)
        {
            var info = batch.Questions[g.InfoIndex];
            questions.Add(new JsonObject
            {
                ["question"] = Questions.QuestionText(db, g.Question),
                ["answer"] = Questions.AnswerText(db, g.Question, cot),
                ["order"] = g.Question.Order,
                ["subject"] = Subjects.Name(g.Question.Subject),
                ["mode"] = g.Question.Mode.Name(),
                ["answer_start"] = info.AnswerStart,
                ["answer_end"] = info.AnswerEnd,
                ["truncated"] = info.Truncated,
            });
        }
        var o = new JsonObject
        {
            ["text"] = tok.Decode(batch.InputIds),
            ["input_ids"] = new JsonArray(batch.InputIds.Select(x => (JsonNode)x).ToArray()),
            ["labels"] = new JsonArray(batch.Labels.Select(x => (JsonNode)x).ToArray()),
            ["questions"] = questions,
        };
        return o.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    static void PrintSequence(int index, ProfileDatabase db, QaTokenizer tok, TokenBatch batch, GeneratedQuestion[] qs, bool cot)
    {
        int labelled = batch.Labels.Count(l => l != TokenBatch.Ignore);
        Console.WriteLine($"sequence {index}: {batch.SeqLen} tokens, {labelled} labelled, {qs.Length} questions");
        foreach (var g in qs)
        {
            var info = batch.Questions[g.InfoIndex];
            var tag = $"{g.Question.Order}-hop {g.Question.Mode.Name()} {Subjects.Name(g.Question.Subject)}";
            var trunc = info.Truncated ? ", truncated" : "";
            Console.WriteLine($"  [{tag}] Q: {Questions.QuestionText(db, g.Question)}");
            Console.WriteLine($"      A: {Questions.AnswerText(db, g.Question, cot)}  ({info.AnswerEnd - info.AnswerStart} answer tokens{trunc})");
        }
    }

    static Command Splits()
    {
        var profiles = new Option<string>("--profiles") { Description = "Profiles parquet.", Required = true };
        var seed = new Option<int>("--seed") { Description = "Split seed.", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print a JSON object keyed by set name." };
        var output = new Option<string?>("--out") { Description = "Also save the split (binary, as stored with checkpoints) to this file." };
        var cmd = new Command("splits", "Build the held-out 2-hop splits and print the size of every set.")
        {
            profiles, seed, json, output,
        };
        cmd.SetAction(pr =>
        {
            var path = pr.GetValue(output) is { } given ? PathChecks.OutputFile("--out", given) : null;
            var db = ProfileParquet.Read(pr.GetValue(profiles)!);
            var clock = Stopwatch.StartNew();
            var splits = HeldOutSplits.Build(db, pr.GetValue(seed));
            var elapsed = clock.Elapsed;
            if (path != null) AtomicFile.Write(path, splits.WriteTo);
            if (pr.GetValue(json))
            {
                var o = new JsonObject();
                foreach (var (key, value) in splits.Counts()) o[key] = value;
                o["held_out_relations"] = new JsonArray(splits.HeldRelations.Select(r => (JsonNode)RelationNames.All[r]).ToArray());
                o["held_out_second_attributes"] = new JsonArray(splits.SecondAttributes.Select(a => (JsonNode)Subjects.Name(a)).ToArray());
                Console.WriteLine(o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"N={db.Count:N0}, R={db.RelationCount}, S={Subjects.Count(db.RelationCount)}: {splits.TupleCount:N0} tuples, split seed {splits.Seed}, built in {elapsed.TotalSeconds:F2} s"));
            foreach (var (key, value) in splits.Counts())
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {key,-32} {value,12:N0}"));
            Console.WriteLine($"  held-out relations: {string.Join(", ", splits.HeldRelations.Select(r => RelationNames.All[r]))}");
            Console.WriteLine($"  held-out second attributes: {string.Join(", ", splits.SecondAttributes.Select(Subjects.Name))}");
            return 0;
        });
        return cmd;
    }
}
