namespace MegaFlow.Datasets;

/// <summary>
/// Where a task record comes from. Both reject unknown and repeated fields and wrong types alike;
/// they differ only where the management API has always been more forgiving.
/// </summary>
public enum TaskRecordSource
{
    /// <summary>A line of a dataset file: names are case-sensitive, numbers must be JSON numbers and null is a wrong type.</summary>
    DatasetFile,

    /// <summary>
    /// An element of a management API submission, as ASP.NET Core's web JSON defaults accepted it:
    /// names in any case, numbers also as strings (<c>"10"</c>), and null meaning "not given".
    /// </summary>
    ManagementApi,
}
