namespace ActorLab.Model.Tests.Infrastructure;

/// <summary>
/// Locates `../shared` (laid beside the clone by CI). Tests that need it call <see cref="RequireReferenceLists"/>,
/// which skips with a clear reason where it is absent, as on a user's machine.
/// </summary>
public static class SharedData
{
    public static string? Root { get; } = Find();

    static string? Find()
    {
        var env = Environment.GetEnvironmentVariable("ACTORLAB_SHARED");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ActorLab.sln")))
            {
                var shared = Path.Combine(dir.FullName, "..", "shared");
                return Directory.Exists(shared) ? Path.GetFullPath(shared) : null;
            }
        }
        return null;
    }

    public static string ReferenceListsDir => Path.Combine(Root ?? "", "data", "reference-lists");

    /// <summary>Skips the calling test (Xunit.SkippableFact) when ../shared/data/reference-lists is missing.</summary>
    public static string RequireReferenceLists()
    {
        Skip.If(Root is null || !Directory.Exists(ReferenceListsDir),
            "../shared/data/reference-lists is absent (CI lays shared/ beside the clone); set ACTORLAB_SHARED to run this test.");
        return ReferenceListsDir;
    }
}
