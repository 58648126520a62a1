using System.Collections.Immutable;
using ActorLab.Actors.Control;
using ActorLab.Host.Cli;
using Spectre.Console;

namespace ActorLab.Host.Tests.Actors;

public class SweepPanelTests
{
    static readonly DateTime T0 = new(2026, 12, 2, 8, 0, 0, DateTimeKind.Utc);

    static SweepSummary Sweep(int completed, int running, int queued, int failed = 0) =>
        new("qs", "running", 4, queued, running, 0, completed, failed, 0, null, null);

    static RunSummary Run(string id, string status, long step, double? loss = null) =>
        new($"qs/{id}", status, step, 0, loss, "127.0.0.1:4053#1", 1, 0, null);

    static readonly Dictionary<string, long> Caps = new() { ["qs/a"] = 1000, ["qs/b"] = 1000, ["qs/c"] = 500, ["qs/d"] = 500 };

    [Fact]
    public void Pace_eta_and_counts_come_from_successive_observations()
    {
        var s = SweepPanelState.Start("qs", 4)
            .Observe(T0, Sweep(1, 2, 1), [Run("a", "running", 100), Run("b", "running", 0), Run("c", "queued", 0), Run("d", "completed", 500)], Caps);
        Assert.All(s.Runs, r => Assert.Null(r.StepsPerSecond)); // one observation: no pace yet
        Assert.Null(s.SweepEta);

        s = s.Observe(T0.AddSeconds(10), Sweep(1, 2, 1), [Run("a", "running", 300, 2.5), Run("b", "running", 50), Run("c", "queued", 0), Run("d", "completed", 500)], Caps);
        var a = s.Runs.Single(r => r.Run == "a");
        Assert.Equal(20, a.StepsPerSecond!.Value, 6);                 // 200 steps in 10 s
        Assert.Equal(TimeSpan.FromSeconds(35), a.Eta);                  // 700 steps left at 20/s
        Assert.Equal(2.5, a.Loss);
        Assert.Equal(5, s.Runs.Single(r => r.Run == "b").StepsPerSecond!.Value, 6);
        // every step still to train (700 + 950 + 500; the completed run none) at 25 steps/s together
        Assert.Equal(TimeSpan.FromSeconds(2150.0 / 25), s.SweepEta);
        Assert.Equal((4, 1, 2, 1), (s.Total, s.Completed, s.Running, s.Queued));
        Assert.Equal("sweep qs: 1/4 done, 2 running, 1 queued, 0 failed; ETA 1m 26s", s.Headline());

        // a poll that sees no new step keeps the pace instead of reading 0 steps/s
        var same = s.Observe(T0.AddSeconds(11), Sweep(1, 2, 1), [Run("a", "running", 300), Run("b", "running", 50)], Caps);
        Assert.Equal(20, same.Runs.Single(r => r.Run == "a").StepsPerSecond!.Value, 6);
        // and the next step counts from where that step was first seen (300 at +10 s -> 360 at +14 s: 15/s, smoothed with 20)
        var next = same.Observe(T0.AddSeconds(14), Sweep(1, 2, 1), [Run("a", "running", 360), Run("b", "running", 50)], Caps);
        Assert.Equal(17.5, next.Runs.Single(r => r.Run == "a").StepsPerSecond!.Value, 6);
    }

    [Fact]
    public void A_run_that_restarts_from_an_earlier_checkpoint_starts_its_pace_again()
    {
        var s = SweepPanelState.Start("qs", 4)
            .Observe(T0, Sweep(0, 1, 3), [Run("a", "running", 400)], Caps)
            .Observe(T0.AddSeconds(10), Sweep(0, 1, 3), [Run("a", "running", 500)], Caps)
            .Observe(T0.AddSeconds(20), Sweep(0, 1, 3), [Run("a", "running", 300)], Caps); // requeued, resumed at 300
        Assert.Null(s.Runs.Single().StepsPerSecond);
        Assert.Equal(300, s.Runs.Single().Step);
    }

    [Fact]
    public void The_panel_renders_the_headline_and_every_running_run()
    {
        var s = SweepPanelState.Start("qs", 4)
            .Observe(T0, Sweep(1, 1, 2), [Run("a", "running", 100), Run("d", "completed", 500)], Caps)
            .Observe(T0.AddSeconds(5), Sweep(1, 1, 2), [Run("a", "running", 200, 1.25), Run("d", "completed", 500)], Caps);
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(text), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 200;
        console.Write(s.Render());
        var shown = text.ToString();
        Assert.Contains("sweep qs: 1/4 done, 1 running, 2 queued, 0 failed", shown);
        Assert.Contains("200 / 1,000", shown);
        Assert.Contains("20.0", shown);   // steps/s
        Assert.Contains("1.2500", shown); // loss
        Assert.Contains("40s", shown);    // 800 steps at 20/s
        Assert.DoesNotContain("\n d ", shown);
    }

    [Theory]
    [InlineData(null, "-")]
    [InlineData(42.2, "43s")]
    [InlineData(125.0, "2m 05s")]
    [InlineData(7384.0, "2h 03m")]
    public void Durations_read_at_a_glance(double? seconds, string shown) =>
        Assert.Equal(shown, SweepPanelState.Duration(seconds is { } x ? TimeSpan.FromSeconds(x) : null));
}
