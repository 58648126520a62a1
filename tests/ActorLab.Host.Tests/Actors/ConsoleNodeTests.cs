using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace ActorLab.Host.Tests.Actors;

/// <summary>`actorlab console` against a real `actorlab node` process on loopback.</summary>
public class ConsoleNodeTests
{
    const string Sweep = """
        sweep {
          name = remote
          grid { layers = [1], param-budgets = [340000], relations = [2], n-profiles = [40], orders = [[1]], seeds = [0, 1, 2] }
          vocab-size = 300
          batch-size = 4
          seq-len = 64
          max-steps = 100000
          convergence.enabled = false
          eval { steps = [100000], questions = 20 }
          checkpoint.every = 25
        }
        """;

    static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);

    static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    static (int Code, string Output) Console(int port, params string[] verb) =>
        ActorLabProcess.Run(Limit, ["console", "--contact", $"127.0.0.1:{port}", .. verb]);

    static JsonElement Json(string output) => JsonDocument.Parse(output[output.IndexOf('{')..]).RootElement;

    [Fact]
    public void Console_controls_a_running_node()
    {
        var dir = Path.Combine(Path.GetTempPath(), "actorlab-node-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var good = Path.Combine(dir, "remote.conf");
        File.WriteAllText(good, Sweep);
        var bad = Path.Combine(dir, "bad.conf");
        File.WriteAllText(bad, Sweep.Replace("layers = [1]", "layerz = [1]"));
        var port = FreePort();
        try
        {
            using var node = new ActorLabProcess("node", "--port", port.ToString(), "--data-dir", Path.Combine(dir, "data"), "--slots", "1");
            node.WaitForLine(l => l.StartsWith("node listening on", StringComparison.Ordinal), Limit);

            var (code, output) = Console(port, "status");
            Assert.True(code == 0, output);
            Assert.Contains("cpu", output); // the node table: device and slots

            (code, output) = Console(port, "submit", bad);
            Assert.Equal(2, code);
            Assert.Contains("sweep.grid.layerz: unknown key", output);

            (code, output) = Console(port, "submit", good);
            Assert.True(code == 0, output);
            Assert.Contains("sweep-submitted", output);

            // wait for the first run to train
            using (var watch = new ActorLabProcess("console", "--contact", $"127.0.0.1:{port}", "watch", "--json"))
            {
                var line = watch.WaitForLine(l => l.Contains("\"kind\":\"checkpoint-recorded\""), Limit);
                Assert.Contains("remote/", JsonDocument.Parse(line).RootElement.GetProperty("run_id").GetString());
            }

            (code, output) = Console(port, "pause", "--json");
            Assert.True(code == 0, output);
            (code, output) = Console(port, "status", "--json");
            Assert.Equal("paused", Json(output).GetProperty("sweeps")[0].GetProperty("status").GetString());

            (code, output) = Console(port, "runs", "--json");
            var running = Json(output).GetProperty("runs").EnumerateArray().First(r => r.GetProperty("status").GetString() == "Running");
            var runId = running.GetProperty("run_id").GetString()!;
            (code, output) = Console(port, "suspend", runId);
            Assert.True(code == 0, output);
            var until = DateTime.UtcNow + Limit;
            JsonElement run;
            do
            {
                (_, output) = Console(port, "runs", "--json");
                run = Json(output).GetProperty("runs").EnumerateArray().First(r => r.GetProperty("run_id").GetString() == runId);
            } while (run.GetProperty("status").GetString() != "Suspended" && DateTime.UtcNow < until);
            Assert.Equal("Suspended", run.GetProperty("status").GetString());
            Assert.True(run.GetProperty("checkpoint_step").GetInt64() > 0);

            (code, output) = Console(port, "suspend", "no-such-run");
            Assert.Equal(2, code);
            Assert.Contains("unknown run 'no-such-run'", output);
            (code, output) = Console(port, "resume", "no-such-thing");
            Assert.Equal(2, code);
            Assert.Contains("unknown run or sweep 'no-such-thing'", output);

            (code, output) = Console(port, "resume", runId);
            Assert.True(code == 0, output);
            (code, output) = Console(port, "resume");
            Assert.True(code == 0, output);
            (code, output) = Console(port, "status", "--json");
            Assert.Equal("running", Json(output).GetProperty("sweeps")[0].GetProperty("status").GetString());

            (code, output) = Console(port, "cancel");
            Assert.True(code == 0, output);
            until = DateTime.UtcNow + Limit;
            string status;
            do
            {
                (_, output) = Console(port, "status", "--json");
                status = Json(output).GetProperty("sweeps")[0].GetProperty("status").GetString()!;
            } while (status is not ("finished" or "cancelled") && DateTime.UtcNow < until);
            Assert.Contains(status, new[] { "finished", "cancelled" });
            Assert.False(node.Exited);
            Assert.True(File.Exists(Path.Combine(dir, "data", "logs", "node.log")));
            Assert.Contains("event=run-leased", File.ReadAllText(Path.Combine(dir, "data", "logs", "node.log")));
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch { /* best effort */ }
        }
    }

    [Fact]
    public void Console_to_a_node_that_is_not_there_says_so()
    {
        var port = FreePort();
        var (code, output) = Console(port, "status");
        Assert.Equal(2, code);
        Assert.Contains($"no ActorLab node answers at 127.0.0.1:{port}", output);
        (code, output) = ActorLabProcess.Run(Limit, "console", "--contact", "localhost", "status");
        Assert.Equal(2, code);
        Assert.Contains("--contact must be HOST:PORT", output);
    }
}
