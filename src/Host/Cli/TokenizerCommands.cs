using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;

namespace ActorLab.Host.Cli;

/// <summary>`actorlab tokenizer train`: the byte-level BPE tokenizer of SPEC 2, trained on generated Q&amp;A text.</summary>
public static class TokenizerCommands
{
    public static Command Build()
    {
        var tokenizer = new Command("tokenizer", "Train the byte-level BPE tokenizer on generated Q&A text.");
        tokenizer.Subcommands.Add(Train());
        return tokenizer;
    }

    static Command Train()
    {
        var profiles = new Option<string>("--profiles") { Description = "Profiles parquet the Q&A text is generated from.", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder (vocab.json, merges.txt, tokenizer.json, configs); created if missing.", Required = true };
        var vocabSize = new Option<int>("--vocab-size") { Description = "Vocabulary size, special tokens and the 256 bytes included.", DefaultValueFactory = _ => 3000 };
        var seed = new Option<int>("--seed") { Description = "Seed of the 2-hop examples in the training text.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("train", "Train a tokenizer: every 1-hop example of every profile plus 2 random 2-hop examples per profile (half chain-of-thought).")
        {
            profiles, output, vocabSize, seed,
        };
        cmd.SetAction(pr =>
        {
            var clock = Stopwatch.StartNew();
            var outDir = PathChecks.OutputFolder("--out", pr.GetValue(output));
            var db = ProfileParquet.Read(pr.GetValue(profiles)!);
            var tok = QaTokenizer.Train(QaCorpus.Texts(db, pr.GetValue(seed)), pr.GetValue(vocabSize));
            Directory.CreateDirectory(outDir);
            tok.Save(outDir);
            var sample = Questions.ExampleText(db, Question.OneHop(0, 0), cot: false);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"trained a {tok.VocabSize}-token byte-level BPE on {db.Count:N0} profiles in {clock.Elapsed.TotalSeconds:F1} s, wrote {outDir}"));
            Console.WriteLine($"example: \"{sample}\" -> {tok.Encode(sample).Length} tokens");
            return 0;
        });
        return cmd;
    }
}
