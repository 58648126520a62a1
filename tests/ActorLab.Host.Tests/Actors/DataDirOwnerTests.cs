using ActorLab.Model.Storage;

namespace ActorLab.Host.Tests.Actors;

/// <summary>
/// One owner per data dir, with real processes: a second `sweep run` (or node) on a folder a live `sweep run`
/// holds is refused at once, naming the owner's pid, and writes nothing there; after the owner is killed with -9
/// the lock is gone with it and the folder can be taken again without any cleanup.
/// </summary>
public class DataDirOwnerTests
{
    const string Sweep = """
        sweep {
          name = owner
          grid { layers = [1], param-budgets = [340000], relations = [2], n-profiles = [60], orders = [[1]] }
          vocab-size = 400
          batch-size = 8
          seq-len = 64
          max-steps = 100000
          convergence.enabled = false
          eval { steps = [100000], questions = 40 }
          checkpoint.every = 20
        }
        """;

    [Fact]
    public void A_second_process_on_a_busy_data_dir_is_refused_naming_the_owner_and_the_lock_dies_with_kill9()
    {
        var dir = Path.Combine(Path.GetTempPath(), "actorlab-owner-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "owner.conf");
        File.WriteAllText(file, Sweep);
        var data = Path.Combine(dir, "data");
        try
        {
            using var first = new ActorLabProcess("sweep", "run", file, "--data-dir", data, "--slots", "1", "--plain");
            first.WaitForLine(l => l.Contains("checkpoint-recorded"), TimeSpan.FromMinutes(2));
            var progress = Path.Combine(data, "runs", "owner");
            var before = Directory.GetFiles(progress, "*", SearchOption.AllDirectories).Length;

            var (code, output) = ActorLabProcess.Run(TimeSpan.FromSeconds(60), "sweep", "run", file, "--data-dir", data, "--slots", "1", "--plain");
            Assert.NotEqual(0, code);
            Assert.Contains($"is in use by pid {first.Pid}", output);
            Assert.Contains("sweep run", output);
            Assert.DoesNotContain("   at ", output); // a sentence, not a stack trace
            var (nodeCode, nodeOutput) = ActorLabProcess.Run(TimeSpan.FromSeconds(60), "node", "--data-dir", data, "--port", "0");
            Assert.NotEqual(0, nodeCode);
            Assert.Contains($"is in use by pid {first.Pid}", nodeOutput);
            Assert.False(first.Exited, "the owner must be untouched by the refused ones:\n" + first.Output);
            Assert.True(Directory.GetFiles(progress, "*", SearchOption.AllDirectories).Length >= before);

            first.Kill9();
            using var next = DataDirLock.Acquire(data, "test");
            Assert.Equal(Environment.ProcessId, DataDirLock.ReadOwner(data)!.Pid);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
