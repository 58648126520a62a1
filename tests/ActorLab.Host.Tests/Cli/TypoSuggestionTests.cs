using ActorLab.Host.Cli;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Host.Tests.Cli;

public class TypoSuggestionTests
{
    [Theory]
    [InlineData(new[] { "sweeep", "check", "x.conf" }, "unknown command 'sweeep': did you mean 'sweep'?")]
    [InlineData(new[] { "sweep", "chek", "x.conf" }, "unknown command 'chek': did you mean 'check'?")]
    [InlineData(new[] { "train", "--profils", "p.parquet" }, "unknown option '--profils': did you mean '--profiles'?")]
    [InlineData(new[] { "console", "--contact", "127.0.0.1:1", "staus" }, "unknown command 'staus': did you mean 'status'?")]
    [InlineData(new[] { "console", "--contact", "127.0.0.1:1", "status", "--jsn" }, "unknown option '--jsn': did you mean '--json'?")]
    public void A_typo_gets_one_error_line_with_a_suggestion_and_exit_2(string[] args, string suggestion)
    {
        var r = CliRunner.Run(args);
        Assert.Equal(CliApp.ExitUserError, r.ExitCode);
        var error = Assert.Single(r.Stderr.Split('\n'), l => l.StartsWith("error: "));
        Assert.StartsWith("error: " + suggestion, error);
    }

    [Fact]
    public void A_word_far_from_every_command_gets_no_suggestion()
    {
        var r = CliRunner.Run("frobnicate");
        Assert.Equal(CliApp.ExitUserError, r.ExitCode);
        Assert.DoesNotContain("did you mean", r.Stderr);
        Assert.Contains("'frobnicate'", r.Stderr);
    }

    [Theory]
    [InlineData("sweep", "sweep", 0)]
    [InlineData("sweeep", "sweep", 1)]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("", "abc", 3)]
    public void Edit_distance(string a, string b, int d) => Assert.Equal(d, CliApp.Distance(a, b));
}
