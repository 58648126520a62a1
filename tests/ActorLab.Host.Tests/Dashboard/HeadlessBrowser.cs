using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace ActorLab.Host.Tests.Dashboard;

/// <summary>
/// Debian's chromium, headless, through chromium-driver (`apt-get install chromium chromium-driver`; `.ci/run`
/// installs them). Where they are absent the browser tests skip with that reason, unless ACTORLAB_REQUIRE_BROWSER=1
/// (CI), where they fail.
/// </summary>
public static class HeadlessBrowser
{
    const string Chromium = "/usr/bin/chromium", Driver = "/usr/bin/chromedriver";

    /// <param name="arguments">More chromium switches (e.g. the one certificate to trust for an HTTPS test).</param>
    public static ChromeDriver Start(params string[] arguments)
    {
        var missing = new[] { Chromium, Driver }.Where(p => !File.Exists(p)).ToList();
        if (missing.Count > 0)
        {
            var why = $"no headless browser: {string.Join(" and ", missing)} missing (apt-get install -y chromium chromium-driver)";
            if (Environment.GetEnvironmentVariable("ACTORLAB_REQUIRE_BROWSER") == "1")
                throw new InvalidOperationException($"a browser is required here (ACTORLAB_REQUIRE_BROWSER=1): {why}");
            Skip.If(true, why);
        }
        var options = new ChromeOptions { BinaryLocation = Chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1500,1100");
        options.AddArguments(arguments);
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(Driver)!, Path.GetFileName(Driver));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(90));
    }

    /// <summary>Polls until <paramref name="done"/> holds (page scripts update the DOM asynchronously).</summary>
    public static void Until(Func<bool> done, TimeSpan timeout, Func<string> what)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            try { if (done()) return; }
            catch (WebDriverException) { } // an element replaced between find and read: look again
            if (DateTime.UtcNow > until) throw new TimeoutException($"the page never showed: {what()}");
            Thread.Sleep(100);
        }
    }

    /// <summary>Saves a screenshot beside the test assembly (dashboard-screenshots/NAME.png) and returns its path.</summary>
    public static string Shot(IWebDriver driver, string name)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "dashboard-screenshots");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name + ".png");
        ((ITakesScreenshot)driver).GetScreenshot().SaveAsFile(path);
        return path;
    }
}
