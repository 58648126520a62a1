using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;

namespace ActorLab.Host.Cli;

/// <summary>`actorlab profiles generate|stats|export`: the synthetic profiles database (SPEC 1).</summary>
public static class ProfilesCommands
{
    public const int DefaultN = 25_000;

    public static Command Build()
    {
        var profiles = new Command("profiles", "Generate, inspect and export synthetic profile databases.");
        profiles.Subcommands.Add(Generate());
        profiles.Subcommands.Add(Stats());
        profiles.Subcommands.Add(Export());
        return profiles;
    }

    static Command Generate()
    {
        var n = new Option<int>("--n") { Description = "Number of profiles (at least 2).", DefaultValueFactory = _ => DefaultN };
        var relations = new Option<int>("--relations") { Description = $"Relations R: the first R of the 17 relations (1..{RelationNames.Max}).", DefaultValueFactory = _ => RelationNames.Max };
        var seed = new Option<int>("--seed") { Description = "Seed of every random draw; the same seed and lists give a byte-identical file.", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out") { Description = "Output parquet file (default: profiles_dataset_{N}_{uniform|bipartite}_r{R}.parquet in the current folder)." };
        var bipartite = new Option<bool>("--bipartite") { Description = "Relations as perfect matchings: involutions and inverse pairs (see docs/profiles.md) instead of uniform." };
        var listsDir = new Option<string?>("--lists-dir") { Description = "Folder with first_names.txt, surnames.txt, cities.txt, universities.txt, employers.txt (default: built-in lists)." };
        var cmd = new Command("generate", "Generate a profiles database and write it as parquet (HF hub schema).")
        {
            n, relations, seed, output, bipartite, listsDir,
        };
        cmd.SetAction(pr =>
        {
            var clock = Stopwatch.StartNew();
            var dir = pr.GetValue(listsDir);
            var lists = dir is null ? ValueLists.Default : ValueLists.FromDirectory(dir);
            var config = new ProfileGeneratorConfig(pr.GetValue(n), pr.GetValue(relations), pr.GetValue(seed), pr.GetValue(bipartite));
            var path = PathChecks.OutputFile("--out", pr.GetValue(output) ?? config.DatasetName + ".parquet");
            var db = ProfileGenerator.Generate(config, lists);
            ProfileParquet.Write(db, path);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {db.Count:N0} profiles, {db.RelationCount} relations ({(config.Bipartite ? "bipartite" : "uniform")}, seed {config.Seed}, lists {lists.Source}) to {path} in {clock.Elapsed.TotalSeconds:F2} s"));
            return 0;
        });
        return cmd;
    }

    static Command Stats()
    {
        var file = new Argument<string>("file") { Description = "Profiles parquet (ours or a hub profiles_dataset_* file)." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var cmd = new Command("stats", "Print sizes, distinct values per field and the birth-date range of a profiles file.") { file, json };
        cmd.SetAction(pr =>
        {
            var s = ProfileStats.Compute(ProfileParquet.Read(pr.GetValue(file)!));
            if (pr.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(s, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true }));
                return 0;
            }
            Console.WriteLine($"profiles            {s.Profiles}");
            Console.WriteLine($"relations           {s.Relations}");
            Console.WriteLine($"distinct names      {s.DistinctNames}");
            Console.WriteLine($"  first / middle / last parts  {s.DistinctFirstNames} / {s.DistinctMiddleNames} / {s.DistinctLastNames}");
            Console.WriteLine($"distinct birth_date {s.DistinctBirthDates}  ({s.BirthDateMin} .. {s.BirthDateMax})");
            Console.WriteLine($"distinct birth_city {s.DistinctBirthCities}");
            Console.WriteLine($"distinct university {s.DistinctUniversities}");
            Console.WriteLine($"distinct employer   {s.DistinctEmployers}");
            foreach (var (rel, k) in s.DistinctRelationTargets)
                Console.WriteLine($"distinct {rel,-17} targets {k}");
            return 0;
        });
        return cmd;
    }

    static Command Export()
    {
        var file = new Argument<string>("file") { Description = "Profiles parquet (ours or a hub profiles_dataset_* file)." };
        var format = new Option<string>("--format") { Description = "jsonl or csv.", Required = true };
        format.AcceptOnlyFromAmong("jsonl", "csv");
        var output = new Option<string>("--out") { Description = "Output file.", Required = true };
        var cmd = new Command("export", "Export a profiles file as JSON Lines or CSV, one profile a line (birth_date as YYYY-MM-DD).") { file, format, output };
        cmd.SetAction(pr =>
        {
            var path = PathChecks.OutputFile("--out", pr.GetValue(output));
            var db = ProfileParquet.Read(pr.GetValue(file)!);
            if (pr.GetValue(format) == "csv") ProfileExport.WriteCsv(db, path);
            else ProfileExport.WriteJsonl(db, path);
            Console.WriteLine($"wrote {db.Count:N0} profiles to {path}");
            return 0;
        });
        return cmd;
    }
}
