using System.Net;
using ActorLab.Host.Tests.Actors;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Host.Tests.Dashboard;

/// <summary>The real `actorlab node --http-port 0`: it says where its dashboard is, and serves the embedded page and the API there.</summary>
public class DashboardNodeProcessTests
{
    [Fact]
    public async Task Dashboard_of_a_real_node_process_serves_the_embedded_page_and_the_api()
    {
        using var dir = new TempDir();
        using var node = new ActorLabProcess("node", "--data-dir", Path.Combine(dir.Path, "data"), "--port", "0", "--http-port", "0");
        var line = node.WaitForLine(l => l.StartsWith("dashboard at ", StringComparison.Ordinal), TimeSpan.FromSeconds(90));
        var url = new Uri(line["dashboard at ".Length..].Trim());
        Assert.True(IPAddress.IsLoopback(IPAddress.Parse(url.Host)), url.ToString());
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };

        var page = await http.GetAsync("/");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<script src=\"/app.js\">", await page.Content.ReadAsStringAsync());
        var script = await http.GetAsync("/app.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Contains("new EventSource(\"/api/events\")", await script.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/app.css")).StatusCode);

        // no tokens file: the API answers without a token once the coordinator is up
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        HttpResponseMessage status;
        while ((status = await http.GetAsync("/api/status")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < until, $"{status.StatusCode}: {await status.Content.ReadAsStringAsync()}");
            await Task.Delay(300);
        }
        Assert.Contains("\"sweeps\":[]", await status.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/no-such-page")).StatusCode);
    }
}
