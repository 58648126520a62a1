using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using ActorLab.Host.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ActorLab.Host.Tests.Dashboard;

/// <summary>
/// An open dashboard through a coordinator failover, on three real node processes and PostgreSQL: node b serves the page,
/// the coordinator runs on a, a is killed with SIGKILL; the page's one event stream goes on, shows the coordinator on
/// b and the runs training again, and a run's history (read from the journal by the new coordinator) is whole.
/// </summary>
public class DashboardFailoverTests(ITestOutputHelper output)
{
    const string Sweep = """
        sweep {
          name = failover
          grid { layers = [1], param-budgets = [330000], relations = [2], n-profiles = [20], orders = [[1]], seeds = [0, 1, 2, 3] }
          vocab-size = 300
          batch-size = 4
          seq-len = 64
          max-steps = 3000
          eval.steps = [3000]
          checkpoint.every = 50
        }
        """;

    static readonly TimeSpan Long = TimeSpan.FromMinutes(3);

    [SkippableFact]
    public async Task An_open_dashboard_follows_the_coordinator_to_another_node_after_kill9()
    {
        var connection = Postgres.NewDatabase();
        using var h = new ClusterHarness(connection, ["failover"], TimeSpan.FromMilliseconds(20));
        h.Define(new("a", "127.0.0.1", ClusterHarness.FreePort(), "coordinator,trainer"));
        h.Define(new("b", "127.0.0.2", ClusterHarness.FreePort(), "coordinator,trainer"));
        // three members, so the two left after the kill are a majority (split-brain resolver: keep-majority)
        h.Define(new("c", "127.0.0.3", ClusterHarness.FreePort(), "trainer"));
        h.UseSeeds("a", "b");
        Assert.Equal(0, h.InitJournal().Exit);
        h.Start("a");
        var b = h.Start("b", "--http-port", "0");
        h.Start("c");
        var url = new Uri(b.WaitForLine(l => l.StartsWith("dashboard at ", StringComparison.Ordinal), Long)["dashboard at ".Length..].Trim());
        h.WaitFor(s => s.GetProperty("nodes").GetArrayLength() == 3 && s.GetProperty("coordinator_address").GetString()!.Contains(h.Node("a").Contact), Long, "status");
        var file = Path.Combine(h.Root, "failover.conf");
        File.WriteAllText(file, Sweep);
        Assert.Equal(0, h.Console("submit", file).Exit);

        // the page's event stream, read as a browser's EventSource would: one connection for the whole test
        using var http = new HttpClient { BaseAddress = url, Timeout = Timeout.InfiniteTimeSpan };
        var events = new ConcurrentQueue<(TimeSpan At, string Kind, JsonElement Data)>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            using var stream = await http.GetStreamAsync("/api/events", stop.Token);
            using var text = new StreamReader(stream);
            string? kind = null;
            while (await text.ReadLineAsync(stop.Token) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) kind = line[7..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal) && kind != null)
                    events.Enqueue((clock.Elapsed, kind, JsonDocument.Parse(line[6..]).RootElement.Clone()));
            }
        });
        (TimeSpan At, string Kind, JsonElement Data) Await(Func<(TimeSpan At, string Kind, JsonElement Data), bool> match, TimeSpan after, string what)
        {
            var until = DateTime.UtcNow + Long;
            while (DateTime.UtcNow < until)
            {
                if (events.FirstOrDefault(e => e.At >= after && match(e)) is { Kind: not null } hit) return hit;
                Assert.False(reader.IsCompleted, $"the event stream ended: {reader.Exception?.GetBaseException().Message}");
                Thread.Sleep(200);
            }
            throw new TimeoutException($"the page's stream never showed {what}; saw {string.Join(", ", events.Select(e => e.Kind).Distinct())}");
        }
        static string Coordinator(JsonElement status) => status.GetProperty("coordinator").GetString()!;

        Await(e => e.Kind == "progress", TimeSpan.Zero, "a run's progress");
        var before = Await(e => e.Kind == "status" && Coordinator(e.Data).Contains(h.Node("a").Contact), TimeSpan.Zero, "the coordinator on a");
        var run = Await(e => e.Kind == "progress", before.At, "progress before the kill").Data.GetProperty("id").GetString()!;

        h.Kill9("a");
        var killed = clock.Elapsed;
        var moved = Await(e => e.Kind == "status" && Coordinator(e.Data).Contains(h.Node("b").Contact), killed, "the coordinator on b");
        var trains = Await(e => e.Kind == "progress", moved.At, "progress under the new coordinator");
        output.WriteLine($"the open page showed the coordinator on b {(moved.At - killed).TotalSeconds:F1} s after kill -9 of a, and progress again " +
                         $"{(trains.At - killed).TotalSeconds:F1} s after; in between: {string.Join(", ", events.Where(e => e.At > killed && e.At < moved.At).Select(e => e.Kind).Distinct())}");
        Assert.False(reader.IsCompleted, "the page's event stream was cut by the failover");

        // a run's page: its history from the journal, now read by the coordinator on b, starts with its first lease
        var asked = Stopwatch.StartNew();
        var detail = JsonDocument.Parse(await http.GetStringAsync("/api/run?id=" + Uri.EscapeDataString(run))).RootElement;
        output.WriteLine($"the run page after the failover answered in {asked.Elapsed.TotalSeconds:F1} s: {detail.GetProperty("events")}");
        Assert.True(detail.GetProperty("events").ValueKind == JsonValueKind.Array, detail.ToString());
        var kinds = detail.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.Equal("run-leased", kinds[0]);
        Assert.Contains("run-started", kinds);
        stop.Cancel();
    }
}
