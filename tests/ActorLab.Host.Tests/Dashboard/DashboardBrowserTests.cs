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
