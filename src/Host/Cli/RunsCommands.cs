using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ActorLab.Model.Common;
using ActorLab.Model.Storage;
using Spectre.Console;

namespace ActorLab.Host.Cli;

/// <summary>`actorlab runs --results DIR [DIR...]`: one row per run (configuration and latest metrics), across sweeps.</summary>
public static class RunsCommands
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Build()
    {
        var results = new Option<string[]>("--results") { Description = "Folders to look for runs in (run.json), e.g. a storage root, a sweep's runs/ or train --out folders; repeatable.", Required = true, AllowMultipleArgumentsPerToken = true };
        var sort = new Option<string>("--sort") { Description = $"Column to sort by: {string.Join(", ", RunRow.Columns.Keys)}.", DefaultValueFactory = _ => "run" };
        var desc = new Option<bool>("--desc") { Description = "Sort in descending order." };
        var json = new Option<bool>("--json") { Description = "Print JSON (every field, losses in nats) instead of a table." };
        var cmd = new Command("runs", "List runs under results folders: configuration, steps trained, latest train loss (nats per answer token) and eval losses (nats per question).")
        {
            results, sort, desc, json,
        };
        cmd.SetAction(pr =>
        {
            var by = pr.GetValue(sort)!;
            if (!RunRow.Columns.TryGetValue(by, out var key))
                throw new UserInputException($"--sort: unknown column '{by}' (one of {string.Join(", ", RunRow.Columns.Keys)}).");
            var rows = RunTable.Read(pr.GetValue(results)!, w => Console.Error.WriteLine($"warning: {w}"));
            // nulls (a run with no eval yet) sort last either way
            var ordered = (pr.GetValue(desc) ? rows.OrderByDescending(r => key(r) is null ? 0 : 1).ThenByDescending(key) : rows.OrderBy(r => key(r) is null ? 1 : 0).ThenBy(key))
                .ThenBy(r => r.Run, StringComparer.Ordinal).ToList();
            if (pr.GetValue(json)) { Console.WriteLine(JsonSerializer.Serialize(ordered, Json)); return 0; }
            if (Console.IsOutputRedirected || AnsiConsole.Profile.Width < 160) AnsiConsole.Profile.Width = 240;
            var t = new Table().AddColumns("sweep", "run", "N", "R", "params", "layers", "hops", "lr", "wd", "batch x seq", "seed",
                "steps", "checkpoint", "eval step", "train loss (nats/token)", "1-hop loss (nats/q)", "2-hop loss (nats/q)");
            foreach (var r in ordered)
                t.AddRow(Esc(r.Sweep), Esc(r.Run), N(r.NProfiles), N(r.Relations), N(r.NParams), N(r.Layers), r.TrainedHops, G(r.Lr), G(r.WeightDecay),
                    $"{r.BatchSize} x {r.SeqLen}", N(r.Seed), $"{r.StepsTrained:N0} / {r.MaxSteps:N0}", r.LastCheckpoint?.ToString("N0", CultureInfo.InvariantCulture) ?? "-",
                    r.EvalStep?.ToString("N0", CultureInfo.InvariantCulture) ?? "-", F(r.TrainLoss), F(r.OneHopLoss), F(r.TwoHopLoss));
            AnsiConsole.Write(t);
            Console.WriteLine($"{ordered.Count} run(s)");
            return 0;
        });
        return cmd;
    }

    static string Esc(string s) => Markup.Escape(s);
    static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
    static string G(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
    static string F(double? v) => v?.ToString("F4", CultureInfo.InvariantCulture) ?? "-";
}
