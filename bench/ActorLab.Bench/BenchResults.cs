namespace ActorLab.Bench;

/// <summary>Where benchmark tables go: bench/results/&lt;name&gt;.md beside this project (found from the solution root).</summary>
public static class BenchResults
{
    public static string Folder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ActorLab.sln")))
                return Directory.CreateDirectory(Path.Combine(dir.FullName, "bench", "results")).FullName;
        return Directory.CreateDirectory(Path.Combine(Environment.CurrentDirectory, "bench-results")).FullName;
    }

    public static string Write(string name, string markdown)
    {
        var path = Path.Combine(Folder(), name + ".md");
        ActorLab.Model.Common.AtomicFile.WriteAllText(path, markdown);
        return path;
    }

    /// <summary>Describes the machine a result was measured on (results differ by machine).</summary>
    public static string Machine() =>
        $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";

    /// <summary>
    /// Runs one benchmark phase in a fresh process (this same executable, `childCommand args...`) so that its
    /// peak memory and JIT are its own, and parses the key=value lines it prints.
    /// </summary>
    public static Dictionary<string, double> RunChild(string childCommand, params string[] args)
    {
        var exe = Environment.ProcessPath!;
        var psi = new System.Diagnostics.ProcessStartInfo(exe) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet") psi.ArgumentList.Add(typeof(BenchResults).Assembly.Location);
        psi.ArgumentList.Add(childCommand);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"child {string.Join(' ', args)} failed ({p.ExitCode}): {output}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('='))
            .Where(kv => kv.Length == 2)
            .ToDictionary(kv => kv[0].Trim(), kv => double.Parse(kv[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
