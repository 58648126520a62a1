using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace ActorLab.Host.Tests.Actors;

/// <summary>`actorlab console` (ClusterClient through the gateway) against a real `actorlab node` process on loopback.</summary>
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

    public static int FreePort()
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

    static JsonElement WaitForJson(int port, Func<JsonElement, bool> done, params string[] verb)
    {
        var until = DateTime.UtcNow + Limit;
        while (true)
        {
            var (code, output) = Console(port, [.. verb, "--json"]);
            if (code == 0 && done(Json(output))) return Json(output);
            if (DateTime.UtcNow > until) throw new TimeoutException($"console {string.Join(' ', verb)} never matched:\n{output}");
            Thread.Sleep(300);
        }
    }

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
            node.WaitForLine(l => l.StartsWith("control it with", StringComparison.Ordinal), Limit);

            // the node table fills in once the node agent has registered with the coordinator
            var status = WaitForJson(port, s => s.GetProperty("nodes").EnumerateArray().Any(n => n.GetProperty("device").GetString() == "cpu"), "status");
            var me = status.GetProperty("nodes")[0];
            Assert.Equal(1, me.GetProperty("slots").GetInt32());
            Assert.Contains("coordinator", me.GetProperty("roles").GetString());
            Assert.Contains($"127.0.0.1:{port}", status.GetProperty("coordinator_address").GetString());
            var (code, output) = Console(port, "status");
            Assert.True(code == 0, output);
            Assert.Contains("coordinator at", output);

            (code, output) = Console(port, "submit", bad);
            Assert.Equal(2, code);
            Assert.Contains("sweep.grid.layerz: unknown key", output);

            (code, output) = Console(port, "submit", good);
            Assert.True(code == 0, output);
            Assert.Contains("sweep remote submitted: 3 runs queued on 1 dataset", output);

            // a watch streams events; killing it (no goodbye) must not touch the node's coordinator
            using (var watch = new ActorLabProcess("console", "--contact", $"127.0.0.1:{port}", "watch", "--json"))
            {
                var line = watch.WaitForLine(l => l.Contains("\"kind\":\"checkpoint-recorded\""), Limit);
                Assert.Contains("remote/", JsonDocument.Parse(line).RootElement.GetProperty("run_id").GetString());
                watch.Kill9();
            }
            (code, output) = Console(port, "pause", "--json");
            Assert.True(code == 0, output);
            Assert.Equal("paused", WaitForJson(port, _ => true, "status").GetProperty("sweeps")[0].GetProperty("state").GetString());

            var running = WaitForJson(port, r => r.GetProperty("runs").EnumerateArray().Any(x => x.GetProperty("state").GetString() == "running"), "runs")
                .GetProperty("runs").EnumerateArray().First(r => r.GetProperty("state").GetString() == "running");
            var runId = running.GetProperty("run_id").GetString()!;
            (code, output) = Console(port, "suspend", runId);
            Assert.True(code == 0, output);
            var run = WaitForJson(port, r => r.GetProperty("runs").EnumerateArray().Single(x => x.GetProperty("run_id").GetString() == runId)
                .GetProperty("state").GetString() == "suspended", "runs").GetProperty("runs").EnumerateArray().Single(x => x.GetProperty("run_id").GetString() == runId);
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
            Assert.Equal("running", WaitForJson(port, _ => true, "status").GetProperty("sweeps")[0].GetProperty("state").GetString());

            // runs come a page at a time
            var page = WaitForJson(port, _ => true, "runs", "--limit", "2");
            Assert.Equal((2, 3), (page.GetProperty("runs").GetArrayLength(), page.GetProperty("total").GetInt32()));
            (code, output) = Console(port, "runs", "--limit", "2");
            Assert.True(code == 0, output);
            Assert.Contains("runs 1-2 of 3; next page: --offset 2", output);
            Assert.Equal(1, WaitForJson(port, _ => true, "runs", "--limit", "2", "--offset", "2").GetProperty("runs").GetArrayLength());

            // a run's history from the journal: the suspend and resume above are in it, in order
            var history = WaitForJson(port, _ => true, "history", runId).GetProperty("events").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
            Assert.Equal("run-leased", history[0]);
            Assert.True(history.IndexOf("run-suspended") > 0 && history.LastIndexOf("run-requeued") > history.IndexOf("run-suspended"), string.Join(", ", history));
            (code, output) = Console(port, "history", runId, "--limit", "1");
            Assert.True(code == 0, output);
            Assert.Contains("the newest 1 of ", output);
            (code, output) = Console(port, "history", "no-such-run");
            Assert.Equal(2, code);
            Assert.Contains("unknown run 'no-such-run'", output);

            (code, output) = Console(port, "cancel");
            Assert.True(code == 0, output);
            var final = WaitForJson(port, s => s.GetProperty("sweeps")[0].GetProperty("state").GetString() is "finished" or "failed", "status");
            Assert.Equal(3, final.GetProperty("sweeps")[0].GetProperty("cancelled").GetInt32());
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
