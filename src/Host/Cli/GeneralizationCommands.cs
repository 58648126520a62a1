using System.CommandLine;
using System.Globalization;
using ActorLab.Model.Capacity;
using ActorLab.Model.Common;
using ActorLab.Model.Probes;
using ActorLab.Model.Qa;

namespace ActorLab.Host.Cli;

/// <summary>`actorlab generalization RUN`: each held-out 2-hop tuple's loss beside the losses of its two hops (the reference's detailed_generalization_eval).</summary>
public static class GeneralizationCommands
{
    public static Command Build()
    {
        var run = new Argument<string>("RUN") { Description = "A run folder (its newest valid checkpoint) or a checkpoint folder (RUN/checkpoints/step_N) of a 2-hop run." };
        var modes = new Option<string?>("--modes") { Description = "Comma list of 2-hop eval modes. Default: train_twohop and every held-out mode." };
        var tuples = new Option<int>("--tuples") { Description = "Distinct tuples per mode (fewer when the mode has fewer).", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "Seed for the tuples drawn.", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out") { Description = "Output folder. Default: RUN/generalization/step_N." };
        var batch = new Option<int>("--batch-size") { Description = "Questions per forward pass.", DefaultValueFactory = _ => 256 };
        var device = new Option<string>("--device") { Description = "cpu or cuda:N.", DefaultValueFactory = _ => "cpu" };
        var threads = new Option<int>("--threads") { Description = "torch threads; 0 = all cores.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("generalization",
            "Per 2-hop tuple of each eval mode, its loss beside the losses of the two 1-hop questions that compose it. Writes generalization.csv and a plot.")
        {
            run, modes, tuples, seed, output, batch, device, threads,
        };
        cmd.SetAction(pr => Run(pr.GetValue(run)!, pr.GetValue(modes), pr.GetValue(tuples), pr.GetValue(seed), pr.GetValue(output),
            pr.GetValue(batch), pr.GetValue(device)!, pr.GetValue(threads)));
        return cmd;
    }

    static int Run(string run, string? modesText, int tuples, int seed, string? output, int batchSize, string device, int threads)
    {
        // Flags that need no checkpoint first, so a typo fails fast.
        if (tuples < 1) throw new UserInputException($"--tuples must be >= 1, got {tuples}");
        if (batchSize < 1) throw new UserInputException($"--batch-size must be >= 1, got {batchSize}");
        if (threads < 0) throw new UserInputException($"--threads must be >= 0, got {threads}");
        var modes = modesText is null ? Generalization.DefaultModes : ParseModes(modesText);
        if (output != null) PathChecks.OutputFolder("--out", output);
        if (File.Exists(run)) throw new UserInputException($"'{run}' is a file; give a run folder or a checkpoint folder");
        if (!Directory.Exists(run)) throw new UserInputException($"run folder '{run}' does not exist");

        using var ck = ProbeCheckpoint.Open(run, device, threads);
        if (ck.Splits is null)
            throw new UserInputException($"run '{ck.RunDir}' was trained on 1-hop questions only: the generalization analysis needs a 2-hop run (orders 1,2)");
        var outDir = PathChecks.OutputFolder(output != null ? "--out" : "RUN", output ?? Path.Combine(ck.RunDir, "generalization", $"step_{ck.Step}"));
        Console.WriteLine($"generalization of {ck.CheckpointDir} (step {ck.Step}): up to {tuples} tuples per mode, {modes.Count} modes");
        var rows = Generalization.Evaluate(ck.Core.Model, ck.Db, ck.Tokenizer, ck.Splits, modes, tuples, seed, ck.Run.Cot, batchSize,
            w => Console.Error.WriteLine($"warning: {w}"));
        Console.WriteLine($"{"mode",-36} {"tuples",6} {"2-hop",8} {"1st hop",8} {"2nd hop",8}");
        foreach (var g in rows.GroupBy(r => r.Mode).OrderBy(g => g.Key))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{g.Key.Name(),-36} {g.Count(),6} {g.Average(r => r.TwoHopLoss),8:F3} {g.Average(r => r.FirstHopLoss),8:F3} {g.Average(r => r.SecondHopLoss),8:F3}"));
        foreach (var f in Generalization.Write(outDir, rows, ck.Step, $"2-hop loss vs its hops: {ck.Run.RunName}, step {ck.Step}"))
            Console.WriteLine($"wrote {f}");
        return 0;
    }

    static List<EvalMode> ParseModes(string text)
    {
        var list = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct()
            .Select(m => EvalModes.TryParse(m) ?? throw new UserInputException(
                $"--modes '{m}' is not an eval mode; use 2-hop ones of: {string.Join(", ", EvalModes.All.Select(x => x.Name()))}")).ToList();
        if (list.Count == 0) throw new UserInputException("--modes is empty; give 2-hop eval modes such as eval_complete_two_hop_questions");
        if (list.Contains(EvalMode.TrainOnehop)) throw new UserInputException("--modes train_onehop is not a 2-hop mode; the analysis reads 2-hop tuples");
        return list;
    }
}
