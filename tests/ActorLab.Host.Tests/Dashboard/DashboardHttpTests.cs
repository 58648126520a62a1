using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ActorLab.Host.Dashboard;
using ActorLab.Model.Common;

namespace ActorLab.Host.Tests.Dashboard;

/// <summary>
/// The dashboard's HTTP API without a browser: the console's authorisation (no token, a wrong one, read-only,
/// operator), clear errors for bad input, the runs and one run's loss series from the shared storage, the live feed,
/// and the listener's address rule.
/// </summary>
public class DashboardHttpTests
{
    static HttpClient Client(DashboardFixture f) => new(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = f.Server.Url, Timeout = TimeSpan.FromSeconds(30) };

    static async Task<(HttpStatusCode Code, JsonElement Body)> Get(HttpClient c, string path)
    {
        var r = await c.GetAsync(path);
        return (r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement);
    }

    static async Task<(HttpStatusCode Code, JsonElement Body)> Post(HttpClient c, string path, object body, bool header = true)
    {
        var m = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (header) m.Headers.Add(DashboardApi.CommandHeader, "test");
        var r = await c.SendAsync(m);
        return (r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement);
    }

    static string Error(JsonElement e) => e.GetProperty("error").GetString()!;

    [Fact]
    public async Task Dashboard_refuses_without_a_valid_token_and_read_only_tokens_cannot_command()
    {
        await using var f = await DashboardFixture.Start();
        using var anonymous = Client(f);
        var (code, body) = await Get(anonymous, "/api/status");
        Assert.Equal(HttpStatusCode.Unauthorized, code);
        Assert.Contains("requires an operator token", Error(body));
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/events")).StatusCode);

        // a wrong secret is refused by the gateway, as for a console; a line that is no token by the dashboard
        var wrong = f.AnnLine[..f.AnnLine.LastIndexOf(' ')] + " " + Convert.ToBase64String(new byte[32]);
        (code, body) = await Post(anonymous, "/api/session", new { token = wrong });
        Assert.Equal(HttpStatusCode.Unauthorized, code);
        Assert.Contains("signature does not match operator 'ann'", Error(body));
        (code, body) = await Post(anonymous, "/api/session", new { token = "ann operator not-base64!" });
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Contains("the secret is not base64", Error(body));
        Assert.Equal(HttpStatusCode.Unauthorized, (await Get(anonymous, "/api/status")).Code);

        using var bob = Client(f);
        (code, body) = await Post(bob, "/api/session", new { token = f.BobLine });
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("read-only", body.GetProperty("role").GetString());
        (code, body) = await Get(bob, "/api/status");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("running", body.GetProperty("sweeps")[0].GetProperty("state").GetString());
        (code, body) = await Post(bob, "/api/control", new { verb = "pause", sweep = DashboardFixture.SweepName });
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Contains("'bob' is read-only", Error(body));
        Assert.Equal("running", f.ConsoleSweepState(f.Ann));

        using var ann = Client(f);
        Assert.Equal(HttpStatusCode.OK, (await Post(ann, "/api/session", new { token = f.AnnLine })).Code);
        (code, body) = await Post(ann, "/api/control", new { verb = "pause", sweep = DashboardFixture.SweepName }, header: false);
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Contains("X-ActorLab", Error(body));
        (code, body) = await Post(ann, "/api/control", new { verb = "explode", sweep = DashboardFixture.SweepName });
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Contains("unknown command 'explode'", Error(body));
        (code, body) = await Post(ann, "/api/control", new { verb = "pause", sweep = DashboardFixture.SweepName });
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.True(body.GetProperty("ok").GetBoolean());
        Assert.Equal("paused", f.ConsoleSweepState(f.Ann));
        (code, body) = await Post(ann, "/api/control", new { verb = "pause", sweep = "no-such-sweep" });
        Assert.Equal(HttpStatusCode.Conflict, code);
    }

    [Fact]
    public async Task Dashboard_serves_runs_loss_series_and_a_live_feed_and_refuses_bad_parameters()
    {
        await using var f = await DashboardFixture.Start();
        using var c = Client(f);
        Assert.Equal(HttpStatusCode.OK, (await Post(c, "/api/session", new { token = f.BobLine })).Code);
        foreach (var bad in new[] { "/api/runs?limit=0", "/api/runs?limit=abc", "/api/runs?offset=-1", "/api/run", "/api/run?id=no-slash" })
        {
            var (code, body) = await Get(c, bad);
            Assert.True(code == HttpStatusCode.BadRequest, $"{bad}: {code} {body}");
            Assert.False(string.IsNullOrWhiteSpace(Error(body)));
        }
        Assert.Equal(HttpStatusCode.NotFound, (await Get(c, $"/api/run?id={DashboardFixture.SweepName}/nope")).Code);

        // runs with their configuration from run.json, once they train
        string running = "";
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (running.Length == 0)
        {
            var (_, runs) = await Get(c, "/api/runs");
            Assert.Equal(4, runs.GetProperty("total").GetInt32());
            foreach (var r in runs.GetProperty("runs").EnumerateArray())
                if (r.GetProperty("state").GetString() == "running" && r.GetProperty("step").GetInt64() > 60 && r.GetProperty("params").ValueKind == JsonValueKind.Number)
                    running = r.GetProperty("id").GetString()!;
            Assert.True(DateTime.UtcNow < until, "no run trained 60 steps in a minute");
            if (running.Length == 0) await Task.Delay(300);
        }
        var (ok, run) = await Get(c, "/api/run?id=" + Uri.EscapeDataString(running));
        Assert.Equal(HttpStatusCode.OK, ok);
        var train = run.GetProperty("train").EnumerateArray().Select(p => (p[0].GetInt64(), p[1].GetDouble())).ToList();
        Assert.True(train.Count > 10, $"{train.Count} train points");
        Assert.Equal(train.OrderBy(p => p.Item1).ToList(), train);
        Assert.Equal(4000, run.GetProperty("config").GetProperty("max_steps").GetInt64());
        Assert.NotEmpty(run.GetProperty("checkpoints").EnumerateArray());
        // its history from the journal, from before this page asked: leased, then started at step 0
        var events = run.GetProperty("events").EnumerateArray().Select(e => (Kind: e.GetProperty("kind").GetString(), Step: e.GetProperty("step"))).ToList();
        Assert.Equal("run-leased", events[0].Kind);
        Assert.Contains(events, e => e.Kind == "run-started" && e.Step.GetInt64() == 0);
        Assert.Equal(events.Count, run.GetProperty("events_total").GetInt32());

        // the feed: progress of a run, then the changed rows
        using var feed = await c.GetStreamAsync("/api/events");
        using var reader = new StreamReader(feed);
        var kinds = new HashSet<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!(kinds.Contains("progress") && kinds.Contains("runs") && kinds.Contains("status")) && DateTime.UtcNow < deadline)
        {
            var line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            if (line?.StartsWith("event: ", StringComparison.Ordinal) == true) kinds.Add(line[7..]);
        }
        Assert.Contains("progress", kinds);
        Assert.Contains("runs", kinds);
        Assert.Contains("status", kinds);
    }

    /// <summary>The feed's events as (kind, data) pairs, read until <paramref name="enough"/> or the deadline.</summary>
    static async Task<List<(string Kind, JsonElement Data)>> Feed(HttpClient c, Func<List<(string Kind, JsonElement Data)>, bool> enough, TimeSpan within)
    {
        using var stream = await c.GetStreamAsync("/api/events");
        using var reader = new StreamReader(stream);
        var events = new List<(string, JsonElement)>();
        var deadline = DateTime.UtcNow + within;
        string? kind = null;
        while (!enough(events) && DateTime.UtcNow < deadline)
        {
            var line = await reader.ReadLineAsync().WaitAsync(within);
            if (line is null) break;
            if (line.StartsWith("event: ", StringComparison.Ordinal)) kind = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && kind != null) events.Add((kind, JsonDocument.Parse(line[6..]).RootElement.Clone()));
        }
        return events;
    }

    static List<JsonElement> Changed(JsonElement runs) => runs.GetProperty("changed").EnumerateArray().ToList();

    /// <summary>
    /// The 2-second refresh sends every row once, then only the rows that can have changed: the running runs' (pace,
    /// step) and those whose summary changed, never the queued ones again (a 100,000-run sweep's page costs its node
    /// the changed rows, not all of them).
    /// </summary>
    [Fact]
    public async Task The_feed_sends_every_row_once_then_only_the_rows_that_changed()
    {
        await using var f = await DashboardFixture.Start(sweep: DashboardFixture.SeededSweep(4, 4000));
        using var c = Client(f);
        Assert.Equal(HttpStatusCode.OK, (await Post(c, "/api/session", new { token = f.BobLine })).Code);
        await f.Node.WaitFor(s => s.Sweeps.Single().Running == 2, TimeSpan.FromSeconds(30));
        var events = await Feed(c, e => e.Count(x => x.Kind == "runs") >= 4, TimeSpan.FromSeconds(30));
        var runs = events.Where(e => e.Kind == "runs").Select(e => Changed(e.Data)).ToList();
        Assert.True(runs.Count >= 4, $"{runs.Count} runs events");
        Assert.Equal(8, runs[0].Count);
        Assert.Equal(8, runs[0].Select(r => r.GetProperty("id").GetString()).Distinct().Count());
        // after the first: the running runs (their step and pace move), and no queued row again
        foreach (var later in runs.Skip(1))
        {
            Assert.InRange(later.Count, 1, 4);
            Assert.DoesNotContain(later, r => r.GetProperty("state").GetString() == "queued" && r.GetProperty("step").GetInt64() == 0);
        }
        Assert.Contains(runs.Skip(1).SelectMany(x => x), r => r.GetProperty("state").GetString() == "running");
    }

    /// <summary>A measured sweep's capacity in every row, and every row again when a new measurement replaces it.</summary>
    [Fact]
    public async Task The_feed_sends_every_row_again_when_the_sweep_is_measured_again()
    {
        await using var f = await DashboardFixture.Start(steps: 100, stepTime: TimeSpan.FromMilliseconds(2));
        using var c = Client(f);
        Assert.Equal(HttpStatusCode.OK, (await Post(c, "/api/session", new { token = f.BobLine })).Code);
        var status = await f.Node.WaitFor(s => s.Sweeps.Single().State == "finished", TimeSpan.FromSeconds(90));
        var runIds = (await f.Node.Runs()).Runs.Select(r => r.RunId).Order(StringComparer.Ordinal).ToList();
        // a measurement as `measure` writes it (the columns the page reads), newer than the stand-in's own table
        var csv = Path.Combine(status.Sweeps.Single().ResultsDir!, "capacity_final_test.csv");
        void Measured(double offset, int age)
        {
            AtomicFile.WriteAllText(csv, "run,hops,max_train_hops,total_capacity,bits_per_param\n" + string.Join("", runIds.Select((id, i) =>
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{id[(id.IndexOf('/') + 1)..]},1,1,{offset + i},{0.5 + i}\n"))));
            File.SetLastWriteTimeUtc(csv, DateTime.UtcNow.AddSeconds(age));
        }
        Measured(100, 10);
        var events = await Feed(c, e =>
        {
            var runs = e.Where(x => x.Kind == "runs").ToList();
            if (runs.Count == 1 && !File.ReadAllText(csv).Contains(",1100,", StringComparison.Ordinal)) Measured(1100, 20);
            return runs.Count >= 2;
        }, TimeSpan.FromSeconds(30));
        var both = events.Where(e => e.Kind == "runs").Select(e => Changed(e.Data).ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("capacity").GetDouble())).ToList();
        Assert.Equal(2, both.Count);
        Assert.Equal(runIds.Select((id, i) => (id, 100.0 + i)), runIds.Select(id => (id, both[0][id])));
        Assert.Equal(runIds.Select((id, i) => (id, 1100.0 + i)), runIds.Select(id => (id, both[1][id])));
    }

    [Fact]
    public async Task Dashboard_lists_and_serves_the_plots_of_a_measured_sweep_and_no_other_file()
    {
        await using var f = await DashboardFixture.Start(steps: 100, stepTime: TimeSpan.FromMilliseconds(2));
        using var c = Client(f);
        Assert.Equal(HttpStatusCode.OK, (await Post(c, "/api/session", new { token = f.BobLine })).Code);
        var (code, body) = await Get(c, "/api/plots?sweep=" + DashboardFixture.SweepName);
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Empty(body.GetProperty("plots").EnumerateArray()); // not measured yet
        var status = await f.Node.WaitFor(s => s.Sweeps.Single().State == "finished", TimeSpan.FromSeconds(90));
        var results = status.Sweeps.Single().ResultsDir!;
        var png = new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3 };
        File.WriteAllBytes(Path.Combine(results, "capacity_vs_params_test.png"), png);
        (code, body) = await Get(c, "/api/plots?sweep=" + DashboardFixture.SweepName);
        Assert.Equal(["capacity_vs_params_test.png"], body.GetProperty("plots").EnumerateArray().Select(p => p.GetString()));
        var served = await c.GetAsync($"/api/plot?sweep={DashboardFixture.SweepName}&file=capacity_vs_params_test.png");
        Assert.Equal("image/png", served.Content.Headers.ContentType?.MediaType);
        Assert.Equal(png, await served.Content.ReadAsByteArrayAsync());
        // a run's own plots of the measurement (generalisation gap, loss curve) come with the run and are served
        var runId = (await f.Node.Runs()).Runs.First().RunId;
        var runName = runId[(runId.IndexOf('/') + 1)..];
        Directory.CreateDirectory(Path.Combine(results, "runs"));
        File.WriteAllBytes(Path.Combine(results, "runs", runName + "_generalisation_gap.png"), png);
        (code, body) = await Get(c, "/api/run?id=" + Uri.EscapeDataString(runId));
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal([$"runs/{runName}_generalisation_gap.png"], body.GetProperty("run_plots").EnumerateArray().Select(p => p.GetString()));
        served = await c.GetAsync($"/api/plot?sweep={DashboardFixture.SweepName}&file={Uri.EscapeDataString($"runs/{runName}_generalisation_gap.png")}");
        Assert.Equal(png, await served.Content.ReadAsByteArrayAsync());
        foreach (var other in new[] { "../../../etc/passwd", "capacity_final_standin.csv", "", "runs/../capacity_final_standin.csv", "runs/nope.png" })
            Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync($"/api/plot?sweep={DashboardFixture.SweepName}&file={Uri.EscapeDataString(other)}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Get(c, "/api/plots?sweep=nope")).Code);
        Assert.Equal(HttpStatusCode.BadRequest, (await Get(c, "/api/plots")).Code);
    }

    [Theory]
    [InlineData("0.0.0.0", 8080, false, "--insecure")]
    [InlineData("10.1.2.3", 8080, false, "--insecure")]
    [InlineData("dash.example", 8080, false, "must be an IP address")]
    [InlineData("127.0.0.1", 70000, false, "--http-port must be 0..65535")]
    public void Dashboard_address_other_machines_reach_needs_insecure(string bind, int port, bool insecure, string message) =>
        Assert.Contains(message, Assert.Throws<UserInputException>(() => DashboardEndpoint.Parse(bind, port, insecure)).Message);

    [Fact]
    public void Dashboard_binds_loopback_by_default_and_elsewhere_with_insecure()
    {
        Assert.Equal(IPAddress.Loopback, DashboardEndpoint.Parse(null, 8080, false).Bind);
        Assert.Equal(IPAddress.Any, DashboardEndpoint.Parse("0.0.0.0", 8080, true).Bind);
    }

    [Fact]
    public void Dashboard_node_flags_are_checked_before_the_node_starts()
    {
        var r = Infrastructure.ActorLabCli.Run("node", "--http-port", "8080", "--http-bind", "0.0.0.0", "--data-dir", Infrastructure.ActorLabCli.TempDir());
        Assert.NotEqual(0, r.Exit);
        Assert.Contains("--insecure", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        r = Infrastructure.ActorLabCli.Run("node", "--http-bind", "127.0.0.1", "--data-dir", Infrastructure.ActorLabCli.TempDir());
        Assert.NotEqual(0, r.Exit);
        Assert.Contains("--http-bind goes with --http-port", r.Err);
    }
}
