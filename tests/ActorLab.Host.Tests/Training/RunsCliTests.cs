using System.Text.Json;
using ActorLab.Host.Tests.Infrastructure;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;

namespace ActorLab.Host.Tests.Training;

/// <summary>`actorlab runs --results`: one row per run across sweeps, from the files runs really write.</summary>
[Collection(CliCollection.Name)] // Console is process-wide: an in-process node logging warnings beside it would land in the captured JSON
public class RunsCliTests : IDisposable
{
    readonly string root = CliRunner.TempDir("actorlab-runs");
    public void Dispose() => Directory.Delete(root, true);

    string MakeRun(string sweep, string name, int maxOrder, long steps, double trainLoss, double oneHop, double? twoHop, long? epoch = null)
    {
        var dir = Path.Combine(root, sweep, "runs", name);
        Directory.CreateDirectory(dir);
        new RunConfig
        {
            Sweep = sweep, RunName = name, NProfiles = 100, Relations = 2, NParams = 54880, ParamBudget = 330000, Layers = 1,
            MinOrder = 1, MaxOrder = maxOrder, BatchSize = 4, SeqLen = 64, MaxSteps = 1000, Seed = 3,
        }.Save(dir);
        var folder = new RunFolder(dir, epoch);
        using (var progress = new ProgressCsv(folder.Progress, epoch))
        {
            progress.Start(0);
            for (long s = 1; s <= steps; s++) progress.Step(new StepResult(s, s == steps ? trainLoss : 9.0, 256, 40, 1e-3), 1000);
        }
        var modes = new List<ModeEval> { new(EvalMode.TrainOnehop, oneHop + 1, 20, new Dictionary<int, SubjectLoss>()) };
        EvalResultsCsv.Append(folder.EvalResults, new EvalReport(steps / 2, 1.0, modes));
        modes = [new(EvalMode.TrainOnehop, oneHop, 20, new Dictionary<int, SubjectLoss>())];
        if (twoHop is { } t) modes.Add(new(EvalMode.TrainTwohop, t, 20, new Dictionary<int, SubjectLoss>()));
        EvalResultsCsv.Append(folder.EvalResults, new EvalReport(steps, 1.0, modes));
        return dir;
    }

    [Fact]
    public void Runs_of_several_sweeps_are_listed_once_each_sorted_with_their_latest_losses()
    {
        MakeRun("s1", "a", 1, 100, 2.5, 30.0, null);
        var b = MakeRun("s1", "b", 2, 80, 3.0, 20.0, 40.0);
        MakeRun("s2", "c", 2, 60, 4.0, 25.0, 45.0, epoch: 7); // in progress: only the attempt's own files
        // a sweep's measured-runs/ link must not list a run twice
        Directory.CreateDirectory(Path.Combine(root, "s1", "measured"));
        Directory.CreateSymbolicLink(Path.Combine(root, "s1", "measured", "b"), b);

        var r = CliRunner.Run("runs", "--results", Path.Combine(root, "s1"), Path.Combine(root, "s2"), "--sort", "1hop-loss", "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        var rows = JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(["b", "c", "a"], rows.Select(x => x.GetProperty("run").GetString()));
        var first = rows[0];
        Assert.Equal(("s1", 80L, 80L, 3.0, 20.0, 40.0, "1+2"), (first.GetProperty("sweep").GetString(), first.GetProperty("steps_trained").GetInt64(),
            first.GetProperty("eval_step").GetInt64(), first.GetProperty("train_loss").GetDouble(), first.GetProperty("one_hop_loss").GetDouble(),
            first.GetProperty("two_hop_loss").GetDouble(), first.GetProperty("trained_hops").GetString()));
        Assert.Equal(JsonValueKind.Null, rows[2].GetProperty("two_hop_loss").ValueKind); // a 1-hop run has no 2-hop loss
        Assert.Equal(60, rows[1].GetProperty("steps_trained").GetInt64());

        var desc = CliRunner.Run("runs", "--results", root, "--sort", "steps", "--desc", "--json");
        Assert.Equal(["a", "b", "c"], JsonDocument.Parse(desc.Stdout).RootElement.EnumerateArray().Select(x => x.GetProperty("run").GetString()));

        var table = CliRunner.Run("runs", "--results", root);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("3 run(s)", table.Stdout);
        Assert.Contains("1-hop loss (nats/q)", table.Stdout);
    }

    [Fact]
    public void A_damaged_run_is_skipped_with_a_warning_and_bad_flags_are_one_error()
    {
        MakeRun("s1", "good", 1, 10, 2.0, 10.0, null);
        var bad = Path.Combine(root, "s1", "runs", "bad");
        Directory.CreateDirectory(bad);
        File.WriteAllText(Path.Combine(bad, RunConfig.FileName), "{ not json");
        var r = CliRunner.Run("runs", "--results", root, "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Single(JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray());
        Assert.Contains("warning: skipped", r.Stderr);
        Assert.Contains("bad", r.Stderr);

        var sort = CliRunner.Run("runs", "--results", root, "--sort", "loss");
        Assert.Equal(2, sort.ExitCode);
        Assert.Contains("--sort: unknown column 'loss'", sort.Stderr);
        var missing = CliRunner.Run("runs", "--results", Path.Combine(root, "nope"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("is not a folder", missing.Stderr);
    }
}
