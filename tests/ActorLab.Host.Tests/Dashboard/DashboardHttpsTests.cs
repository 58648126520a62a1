using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorLab.Host.Dashboard;
using ActorLab.Host.Security;
using ActorLab.Model.Common;
using OpenQA.Selenium;
using Xunit.Abstractions;

namespace ActorLab.Host.Tests.Dashboard;

/// <summary>
/// The dashboard over HTTPS (`--https-certificate`) with a certificate of the cluster CA issued for 127.0.0.1
/// (`certs issue --san`): a client that trusts the CA gets the page and a Secure session cookie, one that does not
/// is refused by TLS, a headless chromium pinned to that certificate signs in and fills the runs table; an address
/// other machines reach is allowed with HTTPS and without --insecure.
/// </summary>
public class DashboardHttpsTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "actorlab-https-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    (string Pfx, X509Certificate2 Ca) Issue(params string[] sans)
    {
        var ca = Path.Combine(_dir, "ca");
        ClusterCertificates.Init(ca);
        var (pfx, _) = ClusterCertificates.Issue(ca, "node", "dash", sans);
        return (pfx, X509CertificateLoader.LoadCertificateFromFile(Path.Combine(ca, ClusterCertificates.CaCertificate)));
    }

    /// <summary>A client that trusts only the cluster CA and checks the name, as a browser with ca.crt imported would.</summary>
    static HttpClient Trusting(X509Certificate2 ca, Uri url, List<SslPolicyErrors> seen) => new(new HttpClientHandler
    {
        CookieContainer = new CookieContainer(),
        ServerCertificateCustomValidationCallback = (_, cert, _, errors) =>
        {
            seen.Add(errors);
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            // the name must match (no RemoteCertificateNameMismatch); only the root is ours, not the machine's
            return cert != null && chain.Build(cert) && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None;
        },
    }) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task Dashboard_serves_https_with_a_certificate_of_the_cluster_CA_and_a_secure_session_cookie()
    {
        var (pfx, ca) = Issue("127.0.0.1", "localhost");
        await using var f = await DashboardFixture.Start(https: pfx);
        Assert.Equal("https", f.Server.Url.Scheme);

        var seen = new List<SslPolicyErrors>();
        using var c = Trusting(ca, f.Server.Url, seen);
        var page = await c.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("ActorLab", await page.Content.ReadAsStringAsync());
        Assert.NotEmpty(seen);
        Assert.All(seen, e => Assert.False(e.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch), $"{e}"));

        var m = new HttpRequestMessage(HttpMethod.Post, "/api/session") { Content = JsonContent.Create(new { token = f.AnnLine }) };
        var signedIn = await c.SendAsync(m);
        Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        var cookie = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"));
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/api/runs")).StatusCode);

        // a client that does not trust the cluster CA is stopped by TLS, before any request
        using var stranger = new HttpClient { BaseAddress = f.Server.Url, Timeout = TimeSpan.FromSeconds(30) };
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => stranger.GetAsync("/api/status"));
        Assert.IsType<AuthenticationException>(e.InnerException);
    }

    [SkippableFact]
    public async Task Dashboard_over_https_in_a_browser_signs_in_and_fills_the_runs_table()
    {
        var (pfx, _) = Issue("127.0.0.1");
        // chromium trusts exactly this certificate's key (its SPKI hash), as a browser with the cluster CA imported would trust the node's
        using var cert = X509CertificateLoader.LoadPkcs12FromFile(pfx, File.ReadAllText(Path.ChangeExtension(pfx, ".password")).Trim());
        var spki = Convert.ToBase64String(SHA256.HashData(cert.PublicKey.ExportSubjectPublicKeyInfo()));
        using var browser = HeadlessBrowser.Start("--ignore-certificate-errors-spki-list=" + spki);
        await using var f = await DashboardFixture.Start(https: pfx);
        browser.Navigate().GoToUrl(f.Server.Url);
        HeadlessBrowser.Until(() => browser.FindElement(By.Id("login")).Displayed, TimeSpan.FromSeconds(60), () => "the sign-in form over https");
        var input = browser.FindElement(By.Id("token"));
        input.SendKeys(f.AnnLine);
        browser.FindElement(By.Id("login-button")).Click();
        HeadlessBrowser.Until(() => browser.FindElements(By.CssSelector("#runs tbody tr")).Count == 4, TimeSpan.FromSeconds(60),
            () => $"4 rows over https, saw {browser.FindElements(By.CssSelector("#runs tbody tr")).Count}");
        var session = browser.Manage().Cookies.AllCookies.Single(x => x.Name == DashboardSessions.Cookie);
        Assert.True(session.Secure);
        Assert.True(session.IsHttpOnly);
        output.WriteLine("screenshot: " + HeadlessBrowser.Shot(browser, "https"));
    }

    [Fact]
    public void An_address_other_machines_reach_needs_https_or_insecure_and_a_bad_certificate_is_named()
    {
        var (pfx, _) = Issue("10.1.2.3");
        Assert.NotNull(DashboardEndpoint.Parse("0.0.0.0", 8443, insecure: false, pfx).Certificate);
        Assert.Contains("--https-certificate", Assert.Throws<UserInputException>(() => DashboardEndpoint.Parse("0.0.0.0", 8443, false)).Message);

        var wrong = Path.Combine(_dir, "wrong.password");
        File.WriteAllText(wrong, "not it\n");
        var e = Assert.Throws<UserInputException>(() => DashboardEndpoint.Parse(null, 8443, false, pfx, wrong));
        Assert.Contains(pfx, e.Message);
        Assert.Contains(wrong, e.Message);
        var crt = Path.Combine(_dir, "ca", ClusterCertificates.CaCertificate);
        Assert.Contains("cannot be read as a .pfx", Assert.Throws<UserInputException>(() => DashboardEndpoint.Parse(null, 8443, false, crt)).Message);
        Assert.Contains("does not exist", Assert.Throws<UserInputException>(() => DashboardEndpoint.Parse(null, 8443, false, Path.Combine(_dir, "none.pfx"))).Message);
        Assert.Contains("goes with --https-certificate", Assert.Throws<UserInputException>(() => DashboardEndpoint.Parse(null, 8443, false, null, wrong)).Message);
    }
}
