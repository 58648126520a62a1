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
}
