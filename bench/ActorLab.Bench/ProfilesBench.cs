using System.Diagnostics;
using System.Globalization;
using System.Text;
using ActorLab.Model.Profiles;

namespace ActorLab.Bench;

/// <summary>
/// Profiles database: generation + parquet write time, load time and peak memory for N = 25,000 and 250,000 with 17
/// relations (issue 2 targets at 250k: generate+write &lt; 5 s, load &lt; 1 s, peak &lt; 1 GiB). Each size and phase runs
/// in a fresh child process, so the peak working set is that phase's alone and nothing is warm from a previous one.
/// Times are in-process (start-up of the runtime excluded; first-call JIT included).
/// </summary>
public static class ProfilesBench
{
    public const string ChildCommand = "profiles-child";

    public static int Run(string[] args)
    {
        int[] sizes = args.Length > 0 ? args.Select(int.Parse).ToArray() : [25_000, 250_000];
        const int relations = 17;
        var dir = Path.Combine(Path.GetTempPath(), "actorlab-bench-profiles-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var rows = new List<string>();
        try
        {
            foreach (var n in sizes)
            {
                var file = Path.Combine(dir, $"profiles_{n}.parquet");
                var gen = Child("generate", n.ToString(CultureInfo.InvariantCulture), relations.ToString(CultureInfo.InvariantCulture), file);
                var load = Child("load", file);
                var mb = new FileInfo(file).Length / 1e6;
                rows.Add(string.Create(CultureInfo.InvariantCulture,
                    $"| {n:N0} | {relations} | {gen["generate_s"]:F2} | {gen["write_s"]:F2} | **{gen["generate_s"] + gen["write_s"]:F2}** ({gen["cpu_s"]:F2}) | {gen["peak_mib"]:F0} | **{load["load_s"]:F2}** ({load["cpu_s"]:F2}) | {load["peak_mib"]:F0} | {mb:F1} |"));
                Console.Error.WriteLine(rows[^1]);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        var md = new StringBuilder()
            .AppendLine("# Profiles benchmark")
            .AppendLine()
            .AppendLine($"`dotnet run --project bench/ActorLab.Bench -c Release -- profiles` on {BenchResults.Machine()}, {DateTime.UtcNow:yyyy-MM-dd}.")
            .AppendLine("Built-in lists, uniform relations, seed 1; each phase in a fresh process; peak = peak working set of that process.")
            .AppendLine($"Wall seconds, CPU seconds of the process in parentheses; load average at the end: {LoadAverage()}.")
            .AppendLine()
            .AppendLine("| N | R | generate s | write s | generate+write s (cpu) | peak MiB (gen+write) | load s (cpu) | peak MiB (load) | file MB |")
            .AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows) md.AppendLine(r);
        var text = md.ToString();
        Console.WriteLine(text);
        Console.WriteLine($"written to {BenchResults.Write("profiles", text)}");
        return 0;
    }

    static Dictionary<string, double> Child(params string[] args) => BenchResults.RunChild(ChildCommand, args);

    public static int RunChild(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        switch (args[0])
        {
            case "generate":
            {
                int n = int.Parse(args[1], inv), r = int.Parse(args[2], inv);
                var cpu0 = Cpu();
                var clock = Stopwatch.StartNew();
                var db = ProfileGenerator.Generate(new ProfileGeneratorConfig(n, r, Seed: 1), ValueLists.Default);
                var gen = clock.Elapsed.TotalSeconds;
                clock.Restart();
                ProfileParquet.Write(db, args[3]);
                var write = clock.Elapsed.TotalSeconds;
                Console.WriteLine(string.Create(inv, $"generate_s={gen}\nwrite_s={write}\ncpu_s={Cpu() - cpu0}\npeak_mib={Peak()}"));
                return 0;
            }
            case "load":
            {
                var cpu0 = Cpu();
                var clock = Stopwatch.StartNew();
                var db = ProfileParquet.Read(args[1]);
                var load = clock.Elapsed.TotalSeconds;
                GC.KeepAlive(db);
                Console.WriteLine(string.Create(inv, $"load_s={load}\ncpu_s={Cpu() - cpu0}\npeak_mib={Peak()}"));
                return 0;
            }
            default:
                throw new ArgumentException($"unknown phase {args[0]}");
        }
    }

    /// <summary>CPU seconds of this process (on a busy machine wall time says little; CPU time still does).</summary>
    static double Cpu()
    {
        using var self = Process.GetCurrentProcess();
        return (self.TotalProcessorTime).TotalSeconds;
    }

    static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    static double Peak()
    {
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return self.PeakWorkingSet64 / (1024.0 * 1024.0);
    }
}
