FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY router router
COPY worker worker
COPY models models
COPY migrations migrations
RUN pip install --no-cache-dir . && useradd --create-home frontdesk
USER frontdesk
EXPOSE 8000
CMD ["frontdesk", "serve", "--host", "0.0.0.0"]
