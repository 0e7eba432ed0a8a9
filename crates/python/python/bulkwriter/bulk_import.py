"""pymilvus's import REST calls (``bulk_import``, ``get_import_progress``,
``list_import_jobs``) with the same parameters and request bodies, sent by the Rust import
client (retries on connection errors, 429 and 5xx; TLS verified)."""

import json
from typing import List, Optional

from . import _native
from ._errors import error, raises_bulkwriter_error


class Response:
    """What the calls return, as much of ``requests.Response`` as pymilvus's callers use:
    ``status_code``, ``text``, ``json()``, ``ok``."""

    def __init__(self, url: str, status_code: int, text: str):
        self.url = url
        self.status_code = status_code
        self.text = text

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 400

    def json(self):
        return json.loads(self.text)

    def __repr__(self):
        return f"<Response [{self.status_code}]>"


@raises_bulkwriter_error
def _post(url: str, path: str, params: dict, api_key: str, db_name: str = "", timeout: float = 20) -> Response:
    request_url = url.rstrip("/") + path
    status, text = _native.rest_call(url.rstrip("/"), path, json.dumps(params), api_key or None,
                                     db_name or None, float(timeout))
    response = Response(request_url, status, text)
    if status >= 400:
        raise error(f"Failed to post url: {request_url}, status code: {status}, {text[:500]}")
    answer = response.json()
    if answer.get("code", 0) != 0:
        raise error(
            f"Failed to request url: {request_url}, code: {answer['code']}, message: {answer.get('message')}"
        )
    return response


def bulk_import(url: str, collection_name: str, db_name: str = "",
                files: Optional[List[List[str]]] = None, object_url: str = "",
                object_urls: Optional[List[List[str]]] = None, cluster_id: str = "",
                project_id: str = "", region_id: str = "", api_key: str = "",
                access_key: str = "", secret_key: str = "", token: str = "",
                volume_name: str = "", data_paths: Optional[List[List[str]]] = None,
                verify=True, cert=None, **kwargs) -> Response:
    """Starts an import job (``POST {url}/v2/vectordb/jobs/import/create``), with
    pymilvus's parameters: ``files`` for Milvus; ``object_urls`` with ``access_key``,
    ``secret_key`` (and ``token``), or ``volume_name`` with ``data_paths``, for Zilliz Cloud.
    ``options`` (a dict) becomes the request's options, ``partition_name`` its partition.
    Returns the response (``.json()["data"]["jobId"]``)."""
    params = {
        "collectionName": collection_name,
        "dbName": db_name,
        "partitionName": kwargs.pop("partition_name", ""),
        "files": files,
        "objectUrl": object_url,
        "objectUrls": object_urls,
        "clusterId": cluster_id,
        "projectId": project_id,
        "regionId": region_id,
        "accessKey": access_key,
        "secretKey": secret_key,
        "token": token,
        "volumeName": volume_name,
        "dataPaths": data_paths,
    }
    options = kwargs.pop("options", {})
    if isinstance(options, dict):
        params["options"] = options
    return _post(url, "/v2/vectordb/jobs/import/create", params, api_key, db_name, kwargs.get("timeout", 20))


def get_import_progress(url: str, job_id: str, cluster_id: str = "", project_id: str = "",
                        region_id: str = "", api_key: str = "", db_name: str = "",
                        verify=True, cert=None, **kwargs) -> Response:
    """Describes a job (``POST {url}/v2/vectordb/jobs/import/describe``): state, progress,
    imported rows, per-file details."""
    params = {"jobId": job_id, "clusterId": cluster_id, "projectId": project_id, "regionId": region_id}
    return _post(url, "/v2/vectordb/jobs/import/describe", params, api_key, db_name, kwargs.get("timeout", 20))


def list_import_jobs(url: str, collection_name: str = "", db_name: str = "",
                     cluster_id: str = "", project_id: str = "", region_id: str = "",
                     api_key: str = "", page_size: int = 10, current_page: int = 1,
                     verify=True, cert=None, **kwargs) -> Response:
    """Lists jobs, one page (``POST {url}/v2/vectordb/jobs/import/list``)."""
    params = {
        "collectionName": collection_name,
        "dbName": db_name,
        "clusterId": cluster_id,
        "projectId": project_id,
        "regionId": region_id,
        "pageSize": page_size,
        "currentPage": current_page,
    }
    return _post(url, "/v2/vectordb/jobs/import/list", params, api_key, db_name, kwargs.get("timeout", 20))
