using OpenQA.Selenium;
using OpenQA.Selenium.Interactions;
using Xunit.Abstractions;

namespace ActorLab.Host.Tests.Dashboard;

/// <summary>
/// The dashboard in a real headless browser: a node with a tiny sweep, the page asks for a token, refuses a wrong
/// one, fills the runs table and keeps it live, draws a run's loss chart, pauses the sweep (and the console agrees);
/// a read-only token sees no controls. Screenshots of each page go to dashboard-screenshots/ beside the tests.
/// </summary>
public class DashboardBrowserTests(ITestOutputHelper output)
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public async Task Dashboard_in_a_browser_fills_the_runs_draws_losses_and_pauses_the_sweep()
    {
        using var browser = HeadlessBrowser.Start();
        await using var f = await DashboardFixture.Start();
        browser.Navigate().GoToUrl(f.Server.Url);

        // the cluster has tokens: a sign-in form, and a wrong secret is refused with the gateway's reason
        HeadlessBrowser.Until(() => browser.FindElement(By.Id("login")).Displayed, Wait, () => "the sign-in form");
        SignIn(browser, f.AnnLine[..f.AnnLine.LastIndexOf(' ')] + " " + Convert.ToBase64String(new byte[32]));
        HeadlessBrowser.Until(() => browser.FindElement(By.Id("login-error")).Text.Contains("signature does not match operator 'ann'"), Wait,
            () => "the wrong token's refusal: " + browser.FindElement(By.Id("login-error")).Text);
        Assert.False(browser.FindElement(By.Id("main")).Displayed);
        output.WriteLine("screenshot: " + HeadlessBrowser.Shot(browser, "wrong-token"));

        // the operator: the runs table fills in, and a running run's step moves without a reload
        SignIn(browser, f.AnnLine);
        HeadlessBrowser.Until(() => browser.FindElements(By.CssSelector("#runs tbody tr")).Count == 4, Wait,
            () => $"4 rows, saw {browser.FindElements(By.CssSelector("#runs tbody tr")).Count}");
        IWebElement? row = null;
        HeadlessBrowser.Until(() => (row = browser.FindElements(By.CssSelector("#runs tbody tr[data-state='running']")).FirstOrDefault(r => long.Parse(r.GetAttribute("data-step")!) > 0)) != null,
            Wait, () => "a running row with steps");
        var id = row!.GetAttribute("data-id")!;
        var step = long.Parse(row.GetAttribute("data-step")!);
        HeadlessBrowser.Until(() => long.Parse(browser.FindElement(By.CssSelector($"#runs tbody tr[data-id='{id}']")).GetAttribute("data-step")!) > step, Wait,
            () => $"{id}'s step to move past {step}");
        Assert.NotEmpty(browser.FindElements(By.CssSelector("#sweeps button.control[data-verb='pause']")));
        // sorting by step, descending: the table's order follows
        browser.FindElement(By.CssSelector("#runs th[data-key='step']")).Click();
        browser.FindElement(By.CssSelector("#runs th[data-key='step']")).Click();
        var steps = browser.FindElements(By.CssSelector("#runs tbody tr")).Select(r => long.Parse(r.GetAttribute("data-step")!)).ToList();
        Assert.Equal(steps.OrderByDescending(s => s).Take(2), steps.Take(2).OrderByDescending(s => s)); // the live feed may move steps between reads
        output.WriteLine("screenshot: " + HeadlessBrowser.Shot(browser, "runs"));

        // one run: its train loss chart draws points, and more as it trains
        browser.FindElement(By.CssSelector($"#runs tbody tr[data-id='{id}'] a")).Click();
        HeadlessBrowser.Until(() => Points(browser, "#train-chart") > 5, Wait, () => $"train loss points, saw {Points(browser, "#train-chart")}");
        var drawn = Points(browser, "#train-chart");
        HeadlessBrowser.Until(() => Points(browser, "#train-chart") > drawn, Wait, () => $"the chart to grow past {drawn} points");
        Assert.NotEmpty(browser.FindElements(By.CssSelector("#train-chart svg path[data-series='train']")));
        // its events from the journal, from before the page opened: the lease comes first
        HeadlessBrowser.Until(() => browser.FindElements(By.CssSelector("#run-events li")).FirstOrDefault()?.Text.Contains("run-leased") == true, Wait,
            () => "the run's journalled events: " + string.Join(" | ", browser.FindElements(By.CssSelector("#run-events li")).Select(li => li.Text)));
        Assert.Contains(browser.FindElements(By.CssSelector("#run-events li")), li => li.Text.Contains("run-started step 0"));
        ((IJavaScriptExecutor)browser).ExecuteScript("document.querySelector('#run-events').scrollIntoView()");
        output.WriteLine("screenshot: " + HeadlessBrowser.Shot(browser, "run-events"));
        ((IJavaScriptExecutor)browser).ExecuteScript("window.scrollTo(0, 0)");
        // hover shows the nearest step's loss; the log-y switch redraws on a linear axis
        new Actions(browser).MoveToElement(browser.FindElement(By.CssSelector("#train-chart svg"))).Perform();
        HeadlessBrowser.Until(() => browser.FindElement(By.CssSelector("#train-chart .tip")).Text.StartsWith("train: step ", StringComparison.Ordinal), Wait,
            () => "the hover values: " + browser.FindElement(By.CssSelector("#train-chart .tip")).Text);
        output.WriteLine("screenshot: " + HeadlessBrowser.Shot(browser, "run"));
        var logY = browser.FindElement(By.CssSelector("#train-chart input[data-axis='logY']"));
        Assert.True(logY.Selected);
        logY.Click();
        Assert.False(logY.Selected);
        Assert.True(Points(browser, "#train-chart") > 5);

        // pause from the page; the console agrees
        browser.Navigate().GoToUrl(new Uri(f.Server.Url, "#/"));
        HeadlessBrowser.Until(() => browser.FindElements(By.CssSelector("#sweeps button.control[data-verb='pause']")).Count == 1, Wait, () => "the pause button");
        browser.FindElement(By.CssSelector("#sweeps button.control[data-verb='pause']")).Click();
        HeadlessBrowser.Until(() => f.ConsoleSweepState(f.Ann) == "paused", Wait, () => "the console to see the sweep paused");
        HeadlessBrowser.Until(() => browser.FindElement(By.CssSelector($"#sweeps tr[data-sweep='{DashboardFixture.SweepName}']")).GetAttribute("data-state") == "paused",
            Wait, () => "the page to show the sweep paused");
        output.WriteLine("screenshot: " + HeadlessBrowser.Shot(browser, "paused"));

        // a read-only token: the same tables, no controls
        browser.FindElement(By.CssSelector("#who button")).Click();
        HeadlessBrowser.Until(() => browser.FindElement(By.Id("login")).Displayed, Wait, () => "the sign-in form after signing out");
        SignIn(browser, f.BobLine);
        HeadlessBrowser.Until(() => browser.FindElements(By.CssSelector("#runs tbody tr")).Count == 4, Wait, () => "bob's runs table");
        HeadlessBrowser.Until(() => browser.FindElement(By.Id("who")).Text.Contains("bob (read-only)"), Wait, () => "bob's name");
        Assert.Empty(browser.FindElements(By.CssSelector("button.control")));
        output.WriteLine("screenshot: " + HeadlessBrowser.Shot(browser, "read-only"));
        browser.FindElement(By.CssSelector($"#runs tbody tr[data-id='{id}'] a")).Click();
        HeadlessBrowser.Until(() => Points(browser, "#train-chart") > 5, Wait, () => "bob's run chart");
        Assert.Empty(browser.FindElements(By.CssSelector("button.control")));
    }

    /// <summary>
    /// A sweep of 450 runs: the table holds one page of rows (200) in the DOM, pages forward and back, filters and
    /// sorts across every run, not just the page shown, and a running row on the page keeps moving.
    /// </summary>
    [SkippableFact]
    public async Task A_big_sweep_is_shown_a_page_at_a_time_sorted_and_filtered_across_every_run()
    {
        const int runs = 450;
        using var browser = HeadlessBrowser.Start();
        await using var f = await DashboardFixture.Start(sweep: DashboardFixture.SeededSweep(runs / 2, 100_000));
        browser.Navigate().GoToUrl(f.Server.Url);
        HeadlessBrowser.Until(() => browser.FindElement(By.Id("login")).Displayed, Wait, () => "the sign-in form");
        SignIn(browser, f.AnnLine);
        string Text(string id) => browser.FindElement(By.Id(id)).Text;
        int Rows() => browser.FindElements(By.CssSelector("#runs tbody tr")).Count;
        HeadlessBrowser.Until(() => Text("run-count") == $"{runs} runs" && Rows() == 200, Wait, () => $"{Text("run-count")}, {Rows()} rows drawn");
        Assert.Equal("rows 1-200 of 450, page 1 of 3", Text("page-info"));
        Assert.False(browser.FindElement(By.Id("prev")).Enabled);
        var firstPage = browser.FindElements(By.CssSelector("#runs tbody tr")).Select(r => r.GetAttribute("data-id")!).ToList();
        Assert.Equal(firstPage.Order(StringComparer.Ordinal), firstPage); // sorted by run id

        browser.FindElement(By.Id("next")).Click();
        browser.FindElement(By.Id("next")).Click();
        Assert.Equal("rows 401-450 of 450, page 3 of 3", Text("page-info"));
        Assert.Equal(50, Rows());
        Assert.False(browser.FindElement(By.Id("next")).Enabled);
        var lastPage = browser.FindElements(By.CssSelector("#runs tbody tr")).Select(r => r.GetAttribute("data-id")!).ToList();
        Assert.True(string.CompareOrdinal(firstPage[^1], lastPage[0]) < 0, $"{firstPage[^1]} then {lastPage[0]}");
        browser.FindElement(By.Id("prev")).Click();
        Assert.Equal("rows 201-400 of 450, page 2 of 3", Text("page-info"));

        // sorted by step, descending, across all runs: the two running runs (2 slots) come first wherever their ids are
        browser.FindElement(By.CssSelector("#runs th[data-key='step']")).Click();
        browser.FindElement(By.CssSelector("#runs th[data-key='step']")).Click();
        Assert.StartsWith("rows 1-200 of 450, page 1 of 3", Text("page-info"));
        HeadlessBrowser.Until(() => browser.FindElements(By.CssSelector("#runs tbody tr")).Take(2).All(r => r.GetAttribute("data-state") == "running"), Wait,
            () => "the running runs on top: " + string.Join(", ", browser.FindElements(By.CssSelector("#runs tbody tr")).Take(3).Select(r => r.GetAttribute("data-state") + " " + r.GetAttribute("data-step"))));
        var top = browser.FindElement(By.CssSelector("#runs tbody tr"));
        var (id, step) = (top.GetAttribute("data-id")!, long.Parse(top.GetAttribute("data-step")!));
        HeadlessBrowser.Until(() => browser.FindElements(By.CssSelector($"#runs tbody tr[data-id='{id}']")).FirstOrDefault() is { } r && long.Parse(r.GetAttribute("data-step")!) > step,
            Wait, () => $"{id}'s step to move past {step} on the page");

        // a state filter counts every run in that state, not only the page's
        ((IJavaScriptExecutor)browser).ExecuteScript("const s = document.querySelector('#state-filter'); s.value = 'queued'; s.dispatchEvent(new Event('change'));");
        HeadlessBrowser.Until(() => Text("run-count").EndsWith($" of {runs} runs", StringComparison.Ordinal), Wait, () => Text("run-count"));
        var queued = int.Parse(Text("run-count").Split(' ')[0]);
        Assert.InRange(queued, runs - 10, runs - 2);
        Assert.All(browser.FindElements(By.CssSelector("#runs tbody tr")), r => Assert.Equal("queued", r.GetAttribute("data-state")));
        output.WriteLine("screenshot: " + HeadlessBrowser.Shot(browser, "runs-paged"));
    }

    static void SignIn(IWebDriver browser, string line)
    {
        var input = browser.FindElement(By.Id("token"));
        input.Clear();
        input.SendKeys(line);
        browser.FindElement(By.Id("login-button")).Click();
    }

    static int Points(IWebDriver browser, string chart) =>
        int.TryParse(browser.FindElement(By.CssSelector(chart)).GetAttribute("data-points"), out var n) ? n : 0;
}
