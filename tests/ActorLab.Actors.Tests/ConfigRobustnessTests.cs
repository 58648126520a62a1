using ActorLab.Actors.Config;
using ActorLab.Actors.Sweeps;
using ActorLab.Model.Common;
using Akka.Configuration;

namespace ActorLab.Actors.Tests;

/// <summary>HOCON from users and into the runtime: strict --config files, quoted values, the lint's guards.</summary>
public class ConfigRobustnessTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("actorlab-config-").FullName;
    public void Dispose() => Directory.Delete(dir, true);

    string File(string text)
    {
        var path = Path.Combine(dir, $"c{Guid.NewGuid():N}.conf");
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("k = [:]", "':' cannot start a value in a list")]
    [InlineData("k = [1, =]", "'=' cannot start a value in a list")]
    [InlineData("k = ${k}", "substitutions (${...}) are not supported")]
    public void The_lint_refuses_what_would_loop_or_overflow_in_akkas_parser(string text, string expected)
    {
        var e = Assert.Throws<UserInputException>(() => ActorLabConfig.ParseText(text, "x.conf"));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Dotted_keys_count_as_nesting_with_or_without_spaces()
    {
        // a key of n segments nests n - 1 levels
        foreach (var sep in new[] { ".", " . " })
        {
            Assert.Equal(1, ActorLabConfig.ParseText(string.Join(sep, Enumerable.Repeat("a", 65)) + " = 1", "x.conf").GetInt(string.Join(".", Enumerable.Repeat("a", 65))));
            var e = Assert.Throws<UserInputException>(() => ActorLabConfig.ParseText(string.Join(sep, Enumerable.Repeat("a", 66)) + " = 1", "x.conf"));
            Assert.Contains("nested deeper than 64", e.Message);
        }
    }

    [Fact]
    public void The_lint_leaves_comments_strings_and_64_levels_alone()
    {
        var nested = string.Concat(Enumerable.Repeat("[", 64)) + "1" + string.Concat(Enumerable.Repeat("]", 64));
        var c = ActorLabConfig.ParseText($"# use ${{x}} .......................................................................\nk = \"${{not}} [:]\"\nn = {nested}\n", "x.conf");
        Assert.Equal("${not} [:]", c.GetString("k"));
        Assert.Throws<UserInputException>(() => ActorLabConfig.ParseText($"n = [{nested}]", "x.conf"));
    }

    [Theory]
    [InlineData("/tmp/a\"b")]
    [InlineData("/tmp/a\\b\nakka.loglevel = DEBUG\nx = \"")]
    [InlineData("/tmp/${akka.loglevel}; Mode=Memory")]
    [InlineData("/tmp/ünï😀\u0001")]
    public void Quoted_values_stay_one_string_never_hocon(string value)
    {
        var c = ConfigurationFactory.ParseString($"k = {HoconText.Quote(value)}\nakka.loglevel = INFO");
        Assert.Equal(value, c.GetString("k"));
        Assert.Equal("INFO", c.GetString("akka.loglevel"));
    }

    [Fact]
    public void A_data_dir_with_quotes_newlines_and_semicolons_is_one_path_in_the_config_and_the_connection_string()
    {
        var data = Path.Combine(dir, "x\" \nakka.loglevel = DEBUG\n; Mode=Memory; y");
        var c = ActorLabConfig.Build(data);
        Assert.Equal(data, c.GetString("actorlab.data-dir"));
        Assert.Equal("INFO", c.GetString("akka.loglevel"));
        var cs = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(c.GetString("akka.persistence.journal.sql.connection-string"));
        Assert.Equal(Path.Combine(data, "journal.db"), cs.DataSource);
        Assert.Equal(Microsoft.Data.Sqlite.SqliteOpenMode.ReadWriteCreate, cs.Mode);
    }

    [Theory]
    [InlineData("actorlab.node.cpu-slot = 4", "actorlab.node.cpu-slot: unknown key")]
    [InlineData("actorlab.node.cpu-slots = 0", "actorlab.node.cpu-slots: 0 is not in 1..1024")]
    [InlineData("actorlab.node { cpu-slots = many }", "actorlab.node.cpu-slots: expected a whole number, got 'many'")]
    [InlineData("actorlab.node.use-cuda = maybe", "actorlab.node.use-cuda: 'maybe' is not one of auto, on, off")]
    [InlineData("actorlab.coordinator.resend-interval = 0s", "actorlab.coordinator.resend-interval: 0s must be longer than zero")]
    [InlineData("actorlab.console.ask-timeout = soon", "actorlab.console.ask-timeout: expected a duration")]
    [InlineData("actorlab.gateway.max-in-flight = 0", "actorlab.gateway.max-in-flight: 0 is not in 1..1000000")]
    [InlineData("actorlab.gateway.max-in-flight = lots", "actorlab.gateway.max-in-flight: expected a whole number, got 'lots'")]
    [InlineData("actorlab.data.read-ahead = 0", "actorlab.data.read-ahead: 0 is not in 1..1024")]
    [InlineData("actorlab.coordinator.retry-backoff-min = 1m", "actorlab.coordinator.retry-backoff-max: 00:00:30 is below retry-backoff-min")]
    [InlineData("actorlab.node = 3", "actorlab.node: expected an object")]
    [InlineData("actorlab.sweep-defaults.batch-size = 64", "actorlab.sweep-defaults: sweep settings go in the sweep file")]
    [InlineData("actorlabs.node.cpu-slots = 2", "actorlabs: unknown key")]
    public void Config_files_are_read_as_strictly_as_sweep_files(string text, string expected)
    {
        var path = File(text);
        var e = Assert.Throws<UserInputException>(() => ActorLabConfig.Build(Path.Combine(dir, "data"), path));
        Assert.True(e.Message.Contains($"{path}: {expected}"), e.Message);
        Assert.False(Directory.Exists(Path.Combine(dir, "data"))); // refused before the data dir is created
    }

    [Fact]
    public void Valid_config_files_and_akka_settings_pass()
    {
        var c = ActorLabConfig.Build(Path.Combine(dir, "data"), File("actorlab.node { cpu-slots = 3, join-timeout = 500ms }\nakka.loglevel = DEBUG"));
        Assert.Equal(3, c.GetInt("actorlab.node.cpu-slots"));
        Assert.Equal("DEBUG", c.GetString("akka.loglevel"));
    }

    [Theory]
    [InlineData("optimizer.beta1 = 0", "sweep.optimizer.beta1: 0 must be above 0")]
    [InlineData("optimizer.lr = 11", "sweep.optimizer.lr: 11 is above 10")]
    [InlineData("grid.param-budgets = [2000000000000]", "sweep.grid.param-budgets[0]: 2000000000000 is not in")]
    [InlineData("vocab-size = 2000000", "sweep.vocab-size: 2000000 is not in 300..1000000")]
    [InlineData("name = null", "sweep.name: expected a value, got null")]
    public void Sweep_files_share_the_run_limits_of_actorlab_train(string line, string expected)
    {
        var text = TestSweeps.Tiny.TrimEnd().TrimEnd('}') + "\n  " + line + "\n}\n";
        Assert.Contains(expected, Assert.Throws<UserInputException>(() => SweepFile.Parse(text, "s.conf")).Message);
    }
}
