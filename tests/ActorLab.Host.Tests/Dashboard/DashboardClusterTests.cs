using System.Collections.Immutable;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Actors.Training;
using ActorLab.Host.Composition;
using ActorLab.Host.Dashboard;
using ActorLab.Host.Tests.Infrastructure;
using ActorLab.Model.Storage;

namespace ActorLab.Host.Tests.Dashboard;

/// <summary>
/// The dashboard on a node that does not host the coordinator (a trainer-only node joined to a coordinator node):
/// it reads and commands through the other node's console gateway, and the run files through the shared storage root.
/// </summary>
public class DashboardClusterTests
{
    [Fact]
    public async Task Dashboard_on_a_trainer_only_node_reads_and_pauses_through_the_coordinator_nodes_gateway()
    {
        using var dir = new TempDir();
        var shared = Path.Combine(dir.Path, "head");
        await using var head = InProcessNode.Start(shared, TestJournal.Of("sqlite"), "actorlab.node.cpu-slots = 1", stepTime: TimeSpan.FromMilliseconds(25));
        await head.Ask<StatusReply>(new GetStatus());

        var config = ActorLabConfig.Build(Path.Combine(dir.Path, "worker"), extraHocon: InProcessNode.FastSettings +
            $"\nactorlab.node.roles = [trainer]\nactorlab.node.cpu-slots = 1\nactorlab.storage.root = {HoconText.Quote(shared)}");
        var worker = ActorLabNode.Start(config, new NodeEndpoint("127.0.0.1", "127.0.0.1", 0, [(head.Node.Address.Host!, head.Node.Address.Port!.Value)]),
            new StandInBackend(StorageSettings.From(config).Storage) { StepTime = TimeSpan.FromMilliseconds(25) });
        try
        {
            Assert.True(worker.WaitUntilUp(TimeSpan.FromSeconds(30)), "the worker never joined");
            Assert.False(worker.Node.IsCoordinator);
            await using var web = DashboardServer.Start(worker, new DashboardEndpoint(IPAddress.Loopback, 0));
            using var http = new HttpClient { BaseAddress = web.Url, Timeout = TimeSpan.FromSeconds(30) };
            Assert.True((await head.Ask<CommandReply>(new SubmitSweepFile("dash.conf", DashboardFixture.Sweep(4, 4000)))).Ok);

            // the gateway's registration reaches the worker by gossip: the first asks may find none
            JsonElement status = default;
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(40);
            while (true)
            {
                var r = await http.GetAsync("/api/status");
                if (r.StatusCode == HttpStatusCode.OK)
                {
                    status = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
                    if (status.GetProperty("sweeps").GetArrayLength() == 1) break;
                }
                Assert.True(DateTime.UtcNow < until, $"the worker's dashboard never saw the sweep: {r.StatusCode} {await r.Content.ReadAsStringAsync()}");
                await Task.Delay(500);
            }
            Assert.Contains(head.Node.Address.Port!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), status.GetProperty("coordinator").GetString());

            // a run's configuration and losses come from the shared storage root, once it trains (on either node)
            until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                var runs = JsonDocument.Parse(await http.GetStringAsync("/api/runs")).RootElement.GetProperty("runs").EnumerateArray().ToList();
                if (runs.FirstOrDefault(x => x.GetProperty("step").GetInt64() > 60 && x.GetProperty("params").ValueKind == JsonValueKind.Number) is { ValueKind: JsonValueKind.Object } run)
                {
                    var detail = JsonDocument.Parse(await http.GetStringAsync("/api/run?id=" + Uri.EscapeDataString(run.GetProperty("id").GetString()!))).RootElement;
                    Assert.True(detail.GetProperty("train").GetArrayLength() > 10);
                    break;
                }
                Assert.True(DateTime.UtcNow < until, "no run trained 60 steps in a minute");
                await Task.Delay(300);
            }

            var pause = new HttpRequestMessage(HttpMethod.Post, "/api/control") { Content = JsonContent.Create(new { verb = "pause", sweep = DashboardFixture.SweepName }) };
            pause.Headers.Add(DashboardApi.CommandHeader, "test");
            var paused = await http.SendAsync(pause);
            Assert.True(paused.IsSuccessStatusCode, await paused.Content.ReadAsStringAsync());
            Assert.Equal("paused", (await head.Ask<StatusReply>(new GetStatus())).Sweeps.Single().State);
        }
        finally
        {
            await worker.DisposeAsync();
        }
    }
}
