FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /srv/app
COPY pyproject.toml ./
COPY . .
RUN pip install --no-cache-dir -e .
RUN useradd --system --home /srv salon && mkdir -p /srv/var && chown salon /srv/var
USER salon
