using System.Globalization;

namespace ActorLab.Host.Tests.Actors;

/// <summary>
/// `actorlab sweep run` killed with SIGKILL at several points, then run again: completed runs are not redone,
/// interrupted runs continue from their last checkpoint (nothing before it is trained again) and the final
/// capacity tables are complete.
/// </summary>
public class SweepCrashTests
{
    const string Sweep = """
        sweep {
          name = crash
          grid { layers = [1], param-budgets = [340000, 380000], relations = [2], n-profiles = [60], orders = [[1]] }
          vocab-size = 400
          batch-size = 8
          seq-len = 64
          max-steps = 150
          convergence.enabled = false
          eval { steps = [50, 100, 150], questions = 40 }
          checkpoint.every = 20
        }
        """;

    static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    [Fact]
    public void Kill9_at_several_points_then_rerun_completes_without_retraining_past_checkpoints()
    {
        var dir = Path.Combine(Path.GetTempPath(), "actorlab-crash-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "crash.conf");
        File.WriteAllText(file, Sweep);
        var data = Path.Combine(dir, "data");
        string[] args = ["sweep", "run", file, "--data-dir", data, "--slots", "1"];
        try
        {
            // 1. killed while the first run is training (after its first checkpoint)
            using (var p = new ActorLabProcess(args))
            {
                p.WaitForLine(l => l.Contains("checkpoint-recorded"), Limit);
                p.Kill9();
            }
            // 2. killed right after the first run completed (the second is queued or just leased)
            using (var p = new ActorLabProcess(args))
            {
                p.WaitForLine(l => l.Contains("run-completed"), Limit);
                p.Kill9();
            }
            // 3. killed early in the next start, during recovery / before training resumes
            using (var p = new ActorLabProcess(args))
            {
                p.WaitForLine(l => l.StartsWith("sweep crash:", StringComparison.Ordinal), Limit);
                p.Kill9();
            }
            // 4. to the end
            var (code, output) = ActorLabProcess.Run(Limit, args);
            Assert.True(code == 0, output);
            Assert.Contains("sweep crash finished: 2 completed, 0 failed", output);
            Assert.Contains("(resuming)", output);

            var runsDir = Path.Combine(data, "runs", "crash");
            var runDirs = Directory.GetDirectories(runsDir);
            Assert.Equal(2, runDirs.Length);
            var restarts = 0;
            foreach (var run in runDirs)
            {
                var attempts = new ActorLab.Model.Storage.RunFolder(run, null).ProgressFiles();
                restarts += attempts.Count - 1;
                // each lease starts at a checkpoint an earlier lease wrote (a killed process may have written newer
                // ones than the journal recorded) and trains on from the step after it, each step once
                var written = new HashSet<long> { 0 };
                long lastCheckpoint = 0;
                foreach (var (epoch, progress) in attempts)
                {
                    var rows = File.ReadAllLines(progress).Skip(1).Select(l => l.Split(','))
                        .Select(p => (Kind: p[1], Step: long.Parse(p[2], CultureInfo.InvariantCulture))).ToList();
                    // a lease killed right after it opened its progress file wrote nothing yet: it trained nothing
                    if (!rows.Any(r => r.Kind == "start"))
                    {
                        Assert.DoesNotContain(rows, r => r.Kind is "step" or "checkpoint");
                        continue;
                    }
                    var start = rows.First(r => r.Kind == "start").Step;
                    Assert.True(written.Contains(start), $"{Path.GetFileName(run)} epoch {epoch} started at {start}, not at a checkpoint written before");
                    var steps = rows.Where(r => r.Kind == "step").Select(r => r.Step).ToList();
                    if (steps.Count > 0) Assert.Equal(start + 1, steps.Min());
                    Assert.Equal(steps.Count, steps.Distinct().Count());
                    foreach (var c in rows.Where(r => r.Kind == "checkpoint")) written.Add(c.Step);
                    lastCheckpoint = rows.Where(r => r.Kind == "checkpoint").Select(r => r.Step).DefaultIfEmpty(start).Max();
                }
                Assert.Equal(150, lastCheckpoint);
                // the published eval results are the completing lease's, and they hold the final eval
                var evals = File.ReadAllLines(Path.Combine(run, "eval_results.csv")).Skip(1).Select(l => l.Split(',')).ToList();
                Assert.Contains(evals, e => e.Contains("150"));
                Assert.Equal(File.ReadAllText(Path.Combine(run, "eval_results.csv")), File.ReadAllText(attempts[^1].Path.Replace("progress", "eval_results")));
            }
            Assert.True(restarts >= 1, "at least one run was interrupted and resumed");

            var sweepDir = Path.Combine(data, "sweeps", "crash");
            var final = Directory.GetFiles(sweepDir, "capacity_final_*.csv");
            Assert.NotEmpty(final);
            var table = File.ReadAllLines(final[0]);
            Assert.Equal(2, table.Skip(1).Count(l => l.Contains("mup_n60_")));
            Assert.NotEmpty(Directory.GetFiles(sweepDir, "capacity_all_steps_*.csv"));
            Assert.NotEmpty(Directory.GetFiles(sweepDir, "capacity_vs_params_*.png"));

            // running the finished sweep again does nothing and says where the results are
            var (again, againOut) = ActorLabProcess.Run(Limit, args);
            Assert.Equal(0, again);
            Assert.Contains("capacity tables:", againOut);
            Assert.DoesNotContain("run-started", againOut);
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch { /* best effort */ }
        }
    }

    [Fact]
    public void A_bad_sweep_file_is_refused_before_anything_runs()
    {
        var dir = Path.Combine(Path.GetTempPath(), "actorlab-bad-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "bad.conf");
        File.WriteAllText(file, Sweep.Replace("relations = [2]", "relations = [18]"));
        var (code, output) = ActorLabProcess.Run(Limit, "sweep", "run", file, "--data-dir", Path.Combine(dir, "data"));
        Assert.Equal(2, code);
        Assert.Contains("sweep.grid.relations[0]: 18 is not in 1..17", output);
        Assert.False(Directory.Exists(Path.Combine(dir, "data", "runs")));
        Directory.Delete(dir, true);
    }
}
